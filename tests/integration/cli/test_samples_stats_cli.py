"""``ghostcandle samples stats`` on a real database, as an operator runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.frames import FrameRef, make_frame_id
from ghostcandle.domain.samples import NewSample, SampleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec
from ghostcandle.engine.samples.outcomes import OutcomeRequest, OutcomeValidator
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_038_400_000
HOLE = range(200, 210)  # ten minutes never stored


def _sample(end: int, source: SampleSource) -> NewSample:
    decision = T0 + (end + 1) * M
    windows = (WindowSpec("1m", T0 + end * M, 30),)
    frame = FrameRef(
        make_frame_id("t", SYMBOL, decision, windows), "t", "1", SYMBOL, decision, windows
    )
    return NewSample(frame, source, "1m", end % 3)


def _seed(path: Path) -> dict[str, Any]:
    """Store candles, record samples, tamper one candle, validate outcomes; return the truth."""
    with Database(path) as db:
        df = synthetic_candles(400, "1m", start_ms=T0, seed=8).drop(index=list(HOLE))
        CandleStore(db).write(SYMBOL, "1m", df, provenance=CandleSource.FILE)
        clock = ReplayClock(T0 + 400 * M)
        registry = SampleRegistry(db, clock)
        items = [_sample(e, SampleSource.CANDLE) for e in range(40, 240, 5)]
        items += [_sample(e, SampleSource.PIVOT) for e in range(60, 120, 10)]
        recorded = registry.record_many(items)
        db.con.execute("UPDATE candles SET low = low - 1 WHERE open_time = ?", [T0 + 100 * M])
        got = registry.read([s.sample_id for s in recorded])
        validator = OutcomeValidator(db, clock=clock)
        validator.enqueue(
            [
                OutcomeRequest(s.sample_id, SYMBOL, "1m", s.frame.decision_time)
                for s in recorded
                if s.frame.decision_time < T0 + 380 * M
            ]
        )
        validator.run_due(clock.now_ms())
        return {
            "total": len(recorded),
            "quarantined": {s.sample_id for s in got.quarantined},
            "excluded": {s.sample_id for s in recorded if s.status.value == "excluded"},
        }


def _stats(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "samples", "stats", "--db", str(path)]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, check=False)


def test_stats_count_sources_statuses_completeness_and_quarantine(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    truth = _seed(path)
    run = _stats(path, "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["total"] == truth["total"]
    quarantined, excluded = len(truth["quarantined"]), len(truth["excluded"])
    assert quarantined > 0
    assert excluded > 0
    assert out["by_status"] == {
        "ok": truth["total"] - quarantined - excluded,
        "quarantined": quarantined,
        "excluded": excluded,
    }
    assert sum(sum(c.values()) for c in out["by_source"].values()) == truth["total"]
    assert set(out["by_source"]) == {"candle", "pivot"}
    hist = out["completeness_histogram"]
    assert len(hist) == 10
    assert sum(b["samples"] for b in hist) == truth["total"]
    assert {q["sample_id"] for q in out["quarantined"]} == truth["quarantined"]
    assert all(q["reason"].startswith("integrity: ") for q in out["quarantined"])
    kinds = {(r["status"], r["reason"]): r["samples"] for r in out["left_out_by_reason"]}
    assert kinds == {
        ("quarantined", "integrity"): quarantined,
        ("excluded", "incomplete"): excluded,
    }
    setups = out["top_profitable_setups"]
    assert setups
    assert not {s["sample_id"] for s in setups} & truth["quarantined"]
    scores = [s["profitability"] for s in setups]
    assert scores == sorted(scores, reverse=True)

    text = _stats(path)
    assert text.returncode == 0, text.stderr
    for heading in ("source", "completeness", "left out", "quarantined (newest", "top profitable"):
        assert heading in text.stdout


def test_an_empty_or_missing_database_answers_plainly(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    Database(empty).close()
    run = _stats(empty, "--json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["total"] == 0
    assert out["top_profitable_setups"] == []
    assert out["notes"]
    missing = _stats(tmp_path / "nope.duckdb")
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "does not exist" in missing.stderr

"""The loop on real Binance data: every due candle predicted, every prediction settled, every
frame re-materialised to its hash, training in every_candle and pivots_only, baselines beside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.frames import frame_hash
from ghostcandle.domain.timeframes import HOUR_MS, MINUTE_MS, format_time
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore

START = 1_722_470_400_000  # 2024-08-01T00:00Z, days into the real file
END = START + 3 * HOUR_MS


@pytest.mark.parametrize("mode", ["every_candle", "pivots_only"])
def test_replay_over_real_eth_data(
    tmp_path: Path, eth_1m_2024: Path, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    db = tmp_path / "real.duckdb"
    assert main(["ingest", "--db", str(db), str(eth_1m_2024)]) == 0
    capsys.readouterr()
    args = [
        "replay", "--db", str(db), "--symbol", "ETH/USDT", "--from", format_time(START),
        "--to", format_time(END), "--model", "cnn", "--mode", mode, "--timeframes", "1m,1h",
        "--window", "1m=30", "--window", "1h=12", "--json",
    ]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    # every 1m candle closing inside the range is a decision point for five models
    # (cnn + persistence, drift, vol_range, majority); the 1h candles closing at START+1h and
    # +2h too
    due_1m = (END - MINUTE_MS - START) // MINUTE_MS
    assert summary["predictions"] == 5 * (due_1m + 2)
    assert summary["resolved"] + summary["expired"] == summary["predictions"]
    assert summary["expired"] == 0  # the real file has no gap here
    assert summary["train_steps"] > 0
    ev = summary["evaluation"]
    assert set(ev) == {"cnn", "persistence", "drift", "vol_range", "majority"}
    assert ev["persistence"]["1m"]["skill_ratio"] == pytest.approx(1.0)
    assert ev["cnn"]["1m"]["n"] == due_1m
    with Database(db, read_only=True) as d:
        frames = FrameStore(d)
        # every prediction has its frame; rapid moves' samples bring frames of their own
        ids = [str(r[0]) for r in d.con.execute("SELECT frame_id FROM predictions").fetchall()]
        assert len(set(ids)) == summary["predictions"]
        moves = d.con.execute(
            "SELECT count(*) FROM frames WHERE frame_id NOT IN (SELECT frame_id FROM predictions)"
        ).fetchone()
        samples = d.con.execute(
            "SELECT count(DISTINCT frame_id) FROM training_samples WHERE source = 'rapid_move'"
        ).fetchone()
        assert moves == samples
        for fid in ids[:: max(1, len(ids) // 60)]:
            ref = frames.get(fid)
            assert frame_hash(frames.get_inference_data(ref)) == ref.input_hash
            assert all(w.known_at <= ref.decision_time for w in ref.windows)

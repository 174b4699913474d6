"""A day of real candles through the training-data system (issue 12's "done when").

Run: ``.venv/bin/python bench/day_of_training_data.py [--db PATH] [--day 2024-08-02]``

On ETH/USDT 1m from ``../shared/data`` (the day before ``--day`` is history), it makes samples
of every source, one database, and prints one JSON line of what it found:

- ``candle``: a replay of the day training on every closed candle (``every_candle``);
- ``pivot`` and ``rapid_move``: a replay training at confirmed pivots (``pivots_only``), whose
  market-structure engine records each rapid move as a sample;
- ``manual``: a session in manual mode labelled by hand at a few candles;
- ``annotation``: three annotated trades trained with ``train --annotations``;
- ``experience``: a DQN trained offline on the day (``train --model dqn``);
- a profit-weighted offline fit (``train --replay profitable``): the rows its recorded steps drew,
  against the probabilities its plan gives them (chi-square goodness of fit);
- ``train replay-step`` of a recorded step of that fit, and ``samples stats --json``.

Nothing here is timed against a floor: it is a demonstration, not a benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ghostcandle.cli.main import build_parser
from ghostcandle.cli.train_offline import request_of
from ghostcandle.domain.actions import Action
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS, MINUTE_MS, parse_time
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.offline.service import OfflineTrainingService
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.step_records import StepRecordStore

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "binance_ETHUSDT_1m_2024-07-26_2024-08-25.csv.gz"
SYM = "ETH/USDT"
STEPS = ("replays", "manual", "annotations", "fits")
SMALL = {"timeframes": ["1m", "1h"], "windows": {"1m": 60, "1h": 12}}


def cli(db: Path, *args: str) -> Any:
    """Run ``ghostcandle ARGS --db DB --json`` and return its JSON (exit on failure)."""
    cmd = [str(Path(sys.executable).with_name("ghostcandle")), *args, "--db", str(db), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()}")
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def manual_labels(db: Path, start: int) -> int:
    """Label four candles by hand in a manual session; return how many were labelled."""
    clock, bus = ReplayClock(start), MessageBus()
    cfg = SessionConfig(
        session_id="day-manual", model="excursion_mlp", model_config=SMALL,
        symbols=(SYM,), timeframes=("1m",), mode=TrainingMode.MANUAL, synchronous_training=True,
    )  # fmt: skip
    with Database(str(db)) as con:
        session = LoopSession(con, cfg, bus, clock, kind="replay").start()
        labelled = 0
        for ev in replay_events(session.candles, [SYM], ["1m", "1h"], start, start + HOUR_MS):
            clock.advance_to(ev.time)
            bus.publish(candle_topic(ev.symbol, ev.timeframe), ev)
            if ev.timeframe == "1m" and (ev.time - start) % (15 * MINUTE_MS) == 0:
                action = Action.BUY if labelled % 2 == 0 else Action.SELL
                session.label(SYM, "1m", action)
                labelled += 1
        session.stop()
    return labelled


def annotate(db: Path, start: int, data_dir: Path) -> list[str]:
    """Mark three trades of the day; return their ids."""
    with Database(str(db)) as con:
        store = AnnotationStore(con, CandleStore(con), data_dir, ReplayClock(start + DAY_MS))
        ids = []
        for k in range(3):
            entry = start + (3 + 6 * k) * HOUR_MS
            ids.append(store.create(SYM, "1m", entry, entry + 20 * MINUTE_MS).annotation_id)
    return ids


def chi2_p_value(x: float, k: int) -> float:
    """Return P(chi2_k >= x) by the Wilson-Hilferty normal approximation (no scipy here)."""
    z = ((x / k) ** (1 / 3) - (1 - 2 / (9 * k))) / math.sqrt(2 / (9 * k))
    return 0.5 * math.erfc(z / math.sqrt(2))


def draws_follow_priorities(db: Path, run_id: str, request_args: list[str]) -> dict[str, Any]:
    """Compare the rows a profit-weighted fit drew with its plan's probabilities."""
    req = request_of(build_parser().parse_args(["train", *request_args]))  # the CLI's parsing
    with Database(str(db), read_only=True) as con:
        steps = StepRecordStore(con).for_run(run_id)
        prepared = OfflineTrainingService(con, ReplayClock(0)).prepare(req)
    plan = prepared.replay
    assert plan is not None
    assert plan.pool is not None
    rows = plan.train[plan.pool.positions]
    p = plan.pool.priority**plan.settings.alpha
    p = p / p.sum()
    drawn = Counter(int(r) for s in steps for r in s.batch_refs["rows"])
    n = sum(drawn.values())
    # pool rows in bins of equal expected mass, so every bin expects enough draws
    order = np.argsort(p)
    bins = np.minimum((np.cumsum(p[order]) * 20).astype(int), 19)
    observed = np.zeros(20)
    expected = np.zeros(20)
    for b, i in zip(bins, order, strict=True):
        observed[b] += drawn.get(int(rows[i]), 0)
        expected[b] += p[i] * n
    keep = expected > 0
    o, e = observed[keep], expected[keep] * observed[keep].sum() / expected[keep].sum()
    chi2, dof = float(((o - e) ** 2 / e).sum()), int(keep.sum()) - 1
    top = np.argsort(-p)[: max(1, len(p) // 10)]
    return {
        "draws": n,
        "pool": len(rows),
        "chi2": round(chi2, 2),
        "dof": dof,
        "p_value": chi2_p_value(chi2, dof),
        "top_decile_expected_share": round(float(p[top].sum()), 4),
        "top_decile_drawn_share": round(sum(drawn.get(int(rows[i]), 0) for i in top) / n, 4),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--day", default="2024-08-02")
    ap.add_argument(
        "--resume-at", choices=STEPS, default=STEPS[0], help="skip the steps before (done already)"
    )
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="day-samples-"))
    db = a.db or work / "day.duckdb"
    start = parse_time(a.day)
    frm, to = str(start), str(start + DAY_MS)
    out: dict[str, Any] = {"db": str(db), "day": a.day}
    cfg = json.dumps(SMALL)
    todo = STEPS[STEPS.index(a.resume_at) :]
    if "replays" in todo:
        cli(db, "ingest", str(DATA))
    for mode in ("every_candle", "pivots_only") if "replays" in todo else ():
        r = cli(db, "replay", "--symbol", SYM, "--from", frm, "--to", to, "--model",
                "excursion_mlp", "--timeframes", "1m,1h", "--model-config", cfg, "--mode", mode,
                "--session", f"day-{mode}")  # fmt: skip
        out[f"replay_{mode}"] = {k: r[k] for k in ("events", "train_steps", "elapsed_s")}
    if "manual" in todo:
        out["manual_labels"] = manual_labels(db, start)
    if "annotations" in todo:
        ids = annotate(db, start, work / "annotations")
        r = cli(db, "train", "--model", "excursion_mlp", "--annotations", "--epochs", "3")
        out["annotations"] = {"ids": len(ids), "epochs": len(r.get("epochs", []))}
    r = cli(db, "train", "--replace", "--model", "dqn", "--symbol", SYM, "--timeframes", "1m,1h",
            "--from", frm, "--to", to, "--epochs", "2", "--name", "day-dqn")  # fmt: skip
    args = ["--model", "excursion_mlp", "--symbol", SYM, "--timeframes", "1m,1h", "--from",
            str(start - DAY_MS), "--to", to, "--model-config", cfg, "--epochs", "3",
            "--replay", "profitable", "--name", "day-profitable", "--replace"]  # fmt: skip
    r = cli(db, "train", *args)
    run_id = r["run_id"]
    out["profit_weighted"] = {"replay": r["fit"]["replay"], "run_id": run_id}
    out["profit_weighted"]["draws"] = draws_follow_priorities(db, run_id, args)
    runs = cli(db, "train", "list")
    out["runs"] = [(x["kind"], x["model"], x["steps"], x["convergence"]) for x in runs]
    show = cli(db, "train", "show", run_id)
    step = show["last_steps"][-1]["step_id"]
    out["replay_step"] = cli(db, "train", "replay-step", step)
    out["samples"] = cli(db, "samples", "stats")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

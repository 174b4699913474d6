"""Benchmark step recording; print ONE JSON line of figures.

For each learning family, the same batch (32 frames of 64 1m candles, built by ``build_batch``
from a real DuckDB file, so it carries its references) is trained ``STEPS`` times through a
``Trainer``: once without a recorder (the floor, measured in the same run) and once with the
session's recorder (state hash, gradient norms, a ``StepRecord`` per step, a transaction per
32 steps, all on the trainer's thread). Reported: steps/s of each, the overhead per step in
ms, and the share of the step's time it adds (three alternating rounds each, the best kept).
 Also: ``state_hash`` of the model alone (us) and
``ghostcandle train replay-step``'s in-process cost for the last step (replaying every step of
the run from the initial weights), ms.

Usage: ``python bench/bench_step_records.py``
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.engine.offline.dataset import load_dataset
from ghostcandle.engine.training.batches import build_batch
from ghostcandle.engine.training.policy import TrainingSample
from ghostcandle.engine.training.recording import session_recorder
from ghostcandle.engine.training.replay_step import replay_step
from ghostcandle.engine.training.step_facts import state_hash
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.models.base import TrainingBatch
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore, frame_row

FAMILIES = ("transformer", "cnn", "excursion_mlp")
SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
WINDOW, BATCH, STEPS, ROUNDS = 64, 32, 200, 3


def _batch(db: Database) -> TrainingBatch:
    candles = CandleStore(db)
    candles.write(SYMBOL, "1m", synthetic_candles(600, "1m", start_ms=T0, seed=7),
                  provenance=CandleSource.FILE)  # fmt: skip
    data = load_dataset(candles, SYMBOL, ["1m"], {"1m": WINDOW}, T0 + 100 * M, T0 + 500 * M)
    refs = data.frames(np.arange(BATCH, dtype=np.int64), "bench", "")
    frames = FrameStore(db, candles)
    with db.transaction() as con:
        frames.register_in(con, [frame_row(r, "1m") for r in refs])
    samples = [TrainingSample(r, "1m", int(a), TrainingSource.CANDLE)
               for r, a in zip(refs, data.labels[:BATCH].tolist(), strict=True)]  # fmt: skip
    now = int(refs[-1].target_time or 0)
    built = build_batch(frames, samples, {"1m": WINDOW}, ("1m",), now)
    assert built is not None
    return built.batch


def _rate(db: Database, family: str, batch: TrainingBatch, run_id: str | None) -> float:
    clock = LiveClock()
    model = create_model(family, timeframes=["1m"], windows={"1m": WINDOW})
    recorder = None if run_id is None else session_recorder(db, run_id, clock)
    trainer = Trainer(model, clock=clock, recorder=recorder).start()
    trainer.submit(batch).result()  # warm-up (first-call allocations)
    t = time.perf_counter()
    for _ in range(STEPS):
        trainer.submit(batch).result()
    trainer.stop(timeout_s=60)  # the last records are written here: counted
    return STEPS / (time.perf_counter() - t)


def bench_family(db: Database, family: str, batch: TrainingBatch) -> dict[str, Any]:
    """Return steps/s without and with recording, and the overhead."""
    floors, rates = [], []
    for k in range(ROUNDS):
        floors.append(_rate(db, family, batch, None))
        rates.append(_rate(db, family, batch, f"bench-{family}-{k}"))
    floor, recorded = max(floors), max(rates)
    run_id = f"bench-{family}-{ROUNDS - 1}"
    model = create_model(family, timeframes=["1m"], windows={"1m": WINDOW})
    reps = []
    for _ in range(200):
        t = time.perf_counter()
        state_hash(model)
        reps.append(time.perf_counter() - t)
    t = time.perf_counter()
    replay_step(db, f"{run_id}:{STEPS + 1}")
    replay_ms = (time.perf_counter() - t) * 1e3
    return {
        "steps_per_s_floor": round(floor, 1),
        "steps_per_s_recorded": round(recorded, 1),
        "overhead_ms_per_step": round(1e3 / recorded - 1e3 / floor, 3),
        "overhead_share": round(1.0 - recorded / floor, 4),
        "state_hash_p50_us": round(float(np.percentile(np.array(reps) * 1e6, 50)), 1),
        "replay_from_start_ms": round(replay_ms, 1),
        "replay_steps": STEPS + 1,
    }


def main() -> None:
    """Run every family and print one JSON line."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp, Database(Path(tmp) / "b.duckdb") as db:
        batch = _batch(db)
        out = {f: bench_family(db, f, batch) for f in FAMILIES}
    print(json.dumps({"bench": "step_records", "batch": BATCH, "window": WINDOW,
                      "steps": STEPS, "torch_threads": 1, "families": out}))  # fmt: skip


if __name__ == "__main__":
    main()

"""Benchmark training across Ray Train workers (DDP) beside one process; print ONE JSON line.

One ``excursion_mlp`` (1m windows of 60, 2 layers of 256, 3 epochs, batches of 256) is fitted
on the union of the real BTC/USDT and ETH/USDT 1m candles of 2024-07-26.. from ../shared/data
(``--days``, default 4, per symbol), through ``distributed.train.train_on_ray`` on one local
Ray of 2 CPUs:

- the floor: the same union fitted in this process (``single_process``, what the command
  prints beside the workers' fit), its training-loop samples/s and wall time;
- DDP with 1 and with 2 workers: the training loop's samples/s (rank 0's loop, every rank's
  share counted), the wall time from the snapshot to the result (Ray Train's controller and
  the workers' start-up included), final train/validation loss, and the close's skill against
  the strongest baseline on the validation split (MAE ratio, below 1 beats it) for both fits;
- Ray's own start-up (``ray.init``), apart.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import ray

from ghostcandle.cli.main import main
from ghostcandle.distributed.train import train_on_ray
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS
from ghostcandle.engine.offline.service import OfflineRequest
from ghostcandle.engine.offline.trainer import FitSettings

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIRST = 1_722_003_360_000  # 2024-07-26T14:16Z, the files' first candle
START = FIRST + 2 * HOUR_MS
CONFIG = {
    "windows": {"1m": 60},
    "hidden": 256,
}  # steps heavy enough to weigh against the all-reduce
SYMBOLS = ["BTC/USDT", "ETH/USDT"]


def build(db: Path, days: int, tmp: Path) -> None:
    """Store ``days`` days (+3h) of real 1m candles of BTC/USDT and ETH/USDT."""
    rows = (days * 24 + 3) * 60
    for base in ("BTC", "ETH"):
        part = tmp / f"binance_{base}USDT_1m_slice.csv"  # the name says symbol and timeframe
        source = DATA / f"binance_{base}USDT_1m_2024-07-26_2024-08-25.csv.gz"
        pd.read_csv(source, nrows=rows).to_csv(part, index=False)
        with contextlib.redirect_stdout(io.StringIO()):  # the one line printed is the figures
            assert main(["ingest", "--db", str(db), "--no-rollup", str(part)]) == 0


def figures(fit: dict[str, Any]) -> dict[str, Any]:
    """Return what the bench reports of one fit (the command's summary of it)."""
    return {
        "samples_per_s": fit["samples_per_s"],
        "loop_s": fit["duration_s"],
        "wall_s": fit["wall_s"],
        "epochs_run": fit["epochs_run"],
        "final_train_loss": round(fit["final_train_loss"], 6),
        "final_val_loss": round(fit["final_val_loss"], 6),
        "close_skill_vs_strongest": fit["skill"]["close_skill_vs_strongest"],
        "strongest_baseline": fit["skill"]["strongest_baseline"],
    }


def main_bench() -> None:
    """Fit in one process and across 1 and 2 workers; print one JSON line."""
    p = argparse.ArgumentParser()
    p.add_argument("--days", type=int, default=4)
    days = p.parse_args().days
    req = OfflineRequest(
        model="excursion_mlp", symbol=SYMBOLS[0], timeframes=["1m"], start=START,
        end=START + days * DAY_MS, model_config=CONFIG,
        settings=FitSettings(epochs=3, batch_size=256),
    )  # fmt: skip
    out: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        build(db, days, Path(tmp))
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - t0
        try:
            for workers in (1, 2):
                run = train_on_ray(
                    db, OfflineRequest(**{**req.__dict__, "name": f"bench-{workers}"}), SYMBOLS,
                    None, workers, clock=LiveClock(), compare=workers == 1,
                )  # fmt: skip
                out[workers] = run.summary
        finally:
            ray.shutdown()
    single = out[1]["single_process"]
    ddp1, ddp2 = out[1]["ddp"], out[2]["ddp"]
    result = {
        "bench": "ray_train",
        "model": "excursion_mlp",
        "model_config": CONFIG,
        "symbols": len(SYMBOLS),
        "days_per_symbol": days,
        "train_samples": single["train_samples"],
        "val_samples": single["val_samples"],
        "one_process": figures(single),
        "ddp_1_worker": figures(ddp1),
        "ddp_2_workers": figures(ddp2),
        "loop_speedup_2_workers_vs_one_process": round(
            ddp2["samples_per_s"] / single["samples_per_s"], 2
        ),
        "ray_init_s": round(init_s, 2),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main_bench()
    sys.exit(0)

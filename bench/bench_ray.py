"""Benchmark walk-forwards on Ray against the sequential run; print ONE JSON line of figures.

The default model (``excursion_mlp``, small settings: 1m windows of 60, 3 epochs) walks forward
over N symbols (``--symbols N``, default 4): the real BTC/USDT and ETH/USDT 1m candles of
2024-07-26.. from ../shared/data, and, past two symbols, the same candles stored again under
other names (``BTC2/USDT`` ...), so every symbol is the same amount of work.

- the floor: the sequential run, each symbol through ``OfflineTrainingService.walk_forward``
  in this process, one after another (a fit runs torch on ``FitSettings.torch_threads``, one by
  default, as does each task: the same arithmetic, so the same results), cold and then warm;
- the same walk-forwards as Ray tasks, one per (symbol, fold), on a local Ray of 1 and of 2
  CPUs (workers): wall time, speed-up over the floor, and the overhead per task,
  ``(ray_1_worker - sequential) / tasks`` (snapshot, scheduling, a worker's imports
  and loading its symbol's candles);
- what the projection in the README reads: Ray's start-up, the snapshot's bytes per symbol-day of
  1m candles, the DuckDB file's bytes per symbol-day (an upper bound: it holds the schema
  too), and the largest worker's resident memory.
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

import pandas as pd
import psutil
import ray

from ghostcandle.cli.main import main
from ghostcandle.distributed.snapshot import export_candles
from ghostcandle.distributed.walk_forward import walk_forward_on_ray
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS
from ghostcandle.engine.offline.service import OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.trainer import FitSettings
from ghostcandle.engine.offline.walk_forward import parse_walk_forward
from ghostcandle.store.db import Database

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIRST = 1_722_003_360_000  # 2024-07-26T14:16Z, the files' first candle
START = FIRST + 2 * HOUR_MS
DAYS = 3
SPEC = parse_walk_forward("train=1d,test=6h")
CONFIG = {"windows": {"1m": 60}}


def build(db: Path, n: int, tmp: Path) -> list[str]:
    """Store ``DAYS`` days (+3h) of real 1m candles under ``n`` symbol names; return them."""
    rows = (DAYS * 24 + 3) * 60
    symbols = []
    for i in range(n):
        base = ("BTC", "ETH")[i % 2]
        name = base if i < 2 else f"{base}{i // 2 + 1}"
        part = tmp / f"{name}.csv"
        source = DATA / f"binance_{base}USDT_1m_2024-07-26_2024-08-25.csv.gz"
        pd.read_csv(source, nrows=rows).to_csv(part, index=False)
        argv = ["ingest", "--db", str(db), "--no-rollup", "--symbol", f"{name}/USDT"]
        with contextlib.redirect_stdout(io.StringIO()):  # the one line printed is the figures
            assert main([*argv, "--timeframe", "1m", str(part)]) == 0
        symbols.append(f"{name}/USDT")
    return symbols


def request(symbol: str) -> OfflineRequest:
    """Return the walk-forward request of one symbol."""
    return OfflineRequest(
        model="excursion_mlp", symbol=symbol, timeframes=["1m"], start=START,
        end=START + DAYS * DAY_MS, model_config=CONFIG, settings=FitSettings(epochs=3),
    )  # fmt: skip


def floor(svc: OfflineTrainingService, requests: list[OfflineRequest]) -> tuple[float, int]:
    """Walk forward every request in this process, one after another; return (s, folds)."""
    t0 = time.perf_counter()
    folds = sum(len(svc.walk_forward(req, SPEC)[0].folds) for req in requests)
    return time.perf_counter() - t0, folds


def worker_rss_mb() -> float:
    """Return the largest resident memory of this machine's Ray workers, in MB."""
    sizes = [
        p.info["memory_info"].rss
        for p in psutil.process_iter(["cmdline", "memory_info"])
        # a worker names itself ray::<task> (ray::IDLE between tasks)
        if p.info["cmdline"] and p.info["cmdline"][0].startswith("ray::")
    ]
    return round(max(sizes, default=0) / 1e6, 1)


def on_ray(db: Path, requests: list[OfflineRequest], cpus: int) -> dict[str, float]:
    """Run the walk-forwards on a fresh local Ray of ``cpus`` CPUs; return its timings."""
    t0 = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        walk_forward_on_ray(db, requests, SPEC, None)
        wall = time.perf_counter() - t0
        rss = worker_rss_mb()
    finally:
        ray.shutdown()
    return {"wall_s": round(wall, 2), "init_s": round(init_s, 2), "worker_rss_mb": rss}


def main_bench() -> None:
    """Run the floor and Ray with 1 and 2 workers; print one JSON line."""
    p = argparse.ArgumentParser()
    p.add_argument("--symbols", type=int, default=4)
    n = p.parse_args().symbols
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        symbols = build(db, n, Path(tmp))
        requests = [request(s) for s in symbols]
        stored = db.stat().st_size  # the candles alone, before any run is recorded
        with Database(db) as d:
            svc = OfflineTrainingService(d, LiveClock())
            # twice: the first run in a process pays torch's first calls, as each worker does
            cold, folds = floor(svc, requests)
            sequential, _ = floor(svc, requests)
            snapshot = export_candles(d, symbols, Path(tmp))
        one, two = on_ray(db, requests, 1), on_ray(db, requests, 2)
        figures = {
            "bench": "ray_walk_forward",
            "model": "excursion_mlp",
            "symbols": n,
            "tasks": folds,
            "candles_per_symbol": (DAYS * 24 + 3) * 60,
            "sequential_cold_s": round(cold, 2),
            "sequential_s": round(sequential, 2),
            "torch_threads_per_fit": FitSettings().torch_threads,
            "ray_1_worker": one,
            "ray_2_workers": two,
            "speedup_2_vs_sequential": round(sequential / two["wall_s"], 2),
            "speedup_2_vs_1_worker": round(one["wall_s"] / two["wall_s"], 2),
            "overhead_per_task_s": round((one["wall_s"] - sequential) / folds, 3),
            "snapshot_bytes_per_symbol_day": round(
                snapshot.stat().st_size / n / ((DAYS * 24 + 3) / 24)
            ),
            "store_bytes_per_symbol_day": round(stored / n / ((DAYS * 24 + 3) / 24)),
            "driver_rss_mb": round(psutil.Process().memory_info().rss / 1e6, 1),
            "cpus": psutil.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.exit(main_bench())

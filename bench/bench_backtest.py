"""Benchmark backtests: one month of 1m candles (~43,000), the default model and the transformer.

Prints one JSON line: throughput of the batched backtest without training over the whole
month (the median of three runs, the first run's beside it), of the candle-by-candle loop
without training (the baseline, on a sample) and with ``every_candle`` training (on a sample;
each the median of three runs), and the batched/loop ratio. Uses the real ETH/USDT month in
../shared/data when it is there, else a synthetic month of the same length.

The default model is the live default (``engine.live_setup.DEFAULT_LIVE_MODEL``, its default
config with the 1m timeframe); the transformer (default config, 1m window 600) is reported too
unless ``--no-transformer``. Floors, measured in the same run on the same windows (the ratios
are the figures that matter on a shared machine): ``floor_forward_candles_per_s``, the model's
bare batched ``predict`` over every decision's window (inputs prepared before the clock
starts; the median of three passes); ``floor_train_candles_per_s``, bare ``train_step``s on
batches of the schedule's size built once, a step per ``train_every`` candles (16), as a
backtest trains (see ``BacktestRequest``).

The C heap is set as ``ghostcandle backtest`` sets it (``cli/heap.py``: freed large blocks kept
for the next batches; ``heap_kept`` says what was set). ``MALLOC_MMAP_THRESHOLD_=131072
MALLOC_TRIM_THRESHOLD_=131072`` in the environment measures glibc's defaults held, as ``serve``
holds them.

Usage: ``python bench/bench_backtest.py [LOOP_SAMPLE] [TRAIN_SAMPLE] [--no-transformer]
[--device cpu|cuda|auto]`` (candles; defaults 2000 and 300; ``--device cuda`` runs the models and
the floors on a GPU, exit 2 where there is none).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ghostcandle.cli.device_option import add_device_option
from ghostcandle.cli.heap import keep_freed_heap
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.live_setup import DEFAULT_LIVE_MODEL
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestResult, BacktestService
from ghostcandle.engine.trading.backtest_request import backtest_schedules
from ghostcandle.engine.trading.batched_signals import decision_windows
from ghostcandle.models.base import Model, TrainingBatch
from ghostcandle.models.device import use_device
from ghostcandle.models.inputs import prepare_stacked_inputs
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

REAL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "binance_ETHUSDT_1m_2024-07-26_2024-08-25.csv.gz"
)
_ap = argparse.ArgumentParser(description="backtest benchmark (see the module doc)")
_ap.add_argument("loop_sample", nargs="?", type=int, default=2000)
_ap.add_argument("train_sample", nargs="?", type=int, default=300)
_ap.add_argument("--no-transformer", action="store_true", help="the default model only")
add_device_option(_ap)
ARGS = _ap.parse_args()
try:
    DEVICE = use_device(ARGS.device)
except UserInputError as _exc:
    sys.stderr.write(f"bench_backtest: error: {_exc}\n")
    sys.exit(2)
LOOP_SAMPLE, TRAIN_SAMPLE = ARGS.loop_sample, ARGS.train_sample
# every backtest and the forward floor are timed this many times and the median reported:
# how fast a run goes here depends on the state of the C heap it finds (glibc gives freed
# blocks back to the system or keeps them as it sees fit, and a run whose blocks went back
# pays a page fault per 4 KB again), so one run's figure swings by 30% either way
RUNS = 3


def _month() -> tuple[pd.DataFrame, str]:
    if REAL.exists():
        df = pd.read_csv(REAL, usecols=range(6))
        df.columns = ["open_time", "open", "high", "low", "close", "volume"]
        return df, "real ETH/USDT 2024-07-26..08-25"
    return synthetic_candles(43_200, "1m", start_ms=1_722_000_000_000, seed=5), "synthetic"


def floors(svc: BacktestService, req: BacktestRequest, batch_size: int = 256) -> dict[str, float]:
    """The model's bare batched forward and bare train steps over the backtest's windows."""
    model: Model = create_model(req.model, **req.model_settings())
    torch.set_num_threads(req.torch_threads or torch.get_num_threads())
    d = MINUTE_MS
    closes = np.arange(req.start, req.end - d + 1, d, dtype=np.int64)
    found = decision_windows(svc.store, req.symbol, req.timeframe, closes, model.windows)
    rows = np.flatnonzero(found.complete)
    batches = [
        prepare_stacked_inputs(found.raw(rows[a : a + batch_size]))[0]
        for a in range(0, len(rows), batch_size)
    ]
    passes = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        for inputs in batches:
            model.predict(inputs)
        passes.append(time.perf_counter() - t0)
    forward = len(rows) / float(np.median(passes))
    schedule = backtest_schedules(req)[req.timeframe]
    size = schedule.batch_size
    inputs = prepare_stacked_inputs(found.raw(rows[:size]))[0]
    rng = np.random.default_rng(0)
    batch = TrainingBatch(
        inputs=inputs,
        targets={tf: rng.normal(0, 1, (size, 5)).astype(np.float32) for tf in model.windows},
        actions=rng.integers(0, 3, size),
    )
    model.train_step(batch)
    steps = 30
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_step(batch)
    return {
        "floor_forward_candles_per_s": round(forward, 1),
        # a step per ``train_every`` candles, as a backtest trains
        "floor_train_candles_per_s": round(
            steps * schedule.interval / (time.perf_counter() - t0), 1
        ),
    }


def _median(runs: list[BacktestResult]) -> BacktestResult:
    """Return the run of median time."""
    return sorted(runs, key=lambda r: r.elapsed_s)[len(runs) // 2]


def run_model(svc: BacktestService, req: BacktestRequest) -> dict[str, Any]:
    """Batched, loop and ``every_candle`` backtests of one model, beside their floors."""
    svc.run(dataclasses.replace(req, end=req.start + 50 * MINUTE_MS))  # warm up torch
    start = req.start
    runs = [svc.run(req) for _ in range(RUNS)]
    batched = _median(runs)
    loop = _median(
        [
            svc.run(dataclasses.replace(req, end=start + LOOP_SAMPLE * MINUTE_MS, batched=False))
            for _ in range(RUNS)
        ]
    )
    train = _median(
        [
            svc.run(
                dataclasses.replace(req, end=start + TRAIN_SAMPLE * MINUTE_MS, train="every_candle")
            )
            for _ in range(RUNS)
        ]
    )
    out: dict[str, Any] = {
        "batched_candles": batched.candles,
        "batched_s": round(batched.elapsed_s, 2),
        "batched_candles_per_s": round(batched.candles_per_s, 1),
        "batched_first_candles_per_s": round(runs[0].candles_per_s, 1),
        "loop_candles": loop.candles,
        "loop_candles_per_s": round(loop.candles_per_s, 1),
        "batched_over_loop": round(batched.candles_per_s / loop.candles_per_s, 1),
        "every_candle_candles": train.candles,
        "every_candle_candles_per_s": round(train.candles_per_s, 1),
        **floors(svc, req),
        "model_trades": len(batched.trades),
        "model_return_pct": round(batched.performance.return_pct, 3),
        "buy_and_hold_return_pct": round(batched.buy_and_hold.return_pct, 3),
    }
    out["floor_forward_over_batched"] = round(
        out["floor_forward_candles_per_s"] / out["batched_candles_per_s"], 1
    )
    out["floor_train_over_every_candle"] = round(
        out["floor_train_candles_per_s"] / out["every_candle_candles_per_s"], 1
    )
    return out


def main() -> None:
    heap = keep_freed_heap()  # as ``ghostcandle backtest`` does (cli/heap.py)
    df, source = _month()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.duckdb")
        CandleStore(db).write("ETH/USDT", "1m", df, provenance=CandleSource.FILE)
        first, last = int(df["open_time"].iloc[0]), int(df["open_time"].iloc[-1])
        window = 600  # the transformer's default base window: the first 600 candles are history
        start = first + window * MINUTE_MS
        end = last + MINUTE_MS
        svc = BacktestService(db)
        req = BacktestRequest(
            model=DEFAULT_LIVE_MODEL, symbol="ETH/USDT", timeframe="1m", start=start, end=end
        )
        out: dict[str, Any] = {
            "bench": "backtest",
            "data": source,
            "device": str(DEVICE),
            "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
            "torch_threads": req.torch_threads,
            "heap_kept": heap,
            "default_model": f"{DEFAULT_LIVE_MODEL} (default config, 1m)",
            DEFAULT_LIVE_MODEL: run_model(svc, req),
        }
        if not ARGS.no_transformer:
            tr = dataclasses.replace(req, model="transformer")
            out["transformer"] = run_model(svc, tr)
            small = svc.run(dataclasses.replace(tr, model_config={"windows": {"1m": 120}}))
            out["transformer"]["batched_window120_candles_per_s"] = round(small.candles_per_s, 1)
        db.close()
    out["aim_batched_candles_per_s"] = 20_000
    out["aim_every_candle_candles_per_s"] = 200
    print(json.dumps(out))


if __name__ == "__main__":
    main()

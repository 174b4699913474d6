"""Benchmark backtests: one month of 1m candles (~43,000) with the transformer.

Prints one JSON line: throughput of the batched backtest without training over the whole
month, of the candle-by-candle loop without training (the baseline, on a sample) and with
``every_candle`` training (on a sample), and the batched/loop ratio. Uses the real ETH/USDT
month in ../shared/data when it is there, else a synthetic month of the same length.

Usage: ``python bench/bench_backtest.py [LOOP_SAMPLE] [TRAIN_SAMPLE]`` (candles; defaults
2000 and 300).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd
import torch

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestService
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

REAL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "binance_ETHUSDT_1m_2024-07-26_2024-08-25.csv.gz"
)
LOOP_SAMPLE = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
TRAIN_SAMPLE = int(sys.argv[2]) if len(sys.argv) > 2 else 300


def _month() -> tuple[pd.DataFrame, str]:
    if REAL.exists():
        df = pd.read_csv(REAL, usecols=range(6))
        df.columns = ["open_time", "open", "high", "low", "close", "volume"]
        return df, "real ETH/USDT 2024-07-26..08-25"
    return synthetic_candles(43_200, "1m", start_ms=1_722_000_000_000, seed=5), "synthetic"


def main() -> None:
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
            model="transformer", symbol="ETH/USDT", timeframe="1m", start=start, end=end
        )
        svc.run(dataclasses.replace(req, end=start + 50 * MINUTE_MS))  # warm up torch

        batched = svc.run(req)
        loop = svc.run(dataclasses.replace(req, end=start + LOOP_SAMPLE * MINUTE_MS, batched=False))
        train = svc.run(
            dataclasses.replace(req, end=start + TRAIN_SAMPLE * MINUTE_MS, train="every_candle")
        )
        small = svc.run(dataclasses.replace(req, model_config={"windows": {"1m": 120}}))
        db.close()
    print(
        json.dumps(
            {
                "bench": "backtest",
                "data": source,
                "torch_threads": torch.get_num_threads(),
                "model": "transformer (default config, 1m window 600)",
                "batched_candles": batched.candles,
                "batched_s": round(batched.elapsed_s, 2),
                "batched_candles_per_s": round(batched.candles_per_s, 1),
                "loop_candles": loop.candles,
                "loop_candles_per_s": round(loop.candles_per_s, 1),
                "batched_over_loop": round(batched.candles_per_s / loop.candles_per_s, 1),
                "every_candle_candles": train.candles,
                "every_candle_candles_per_s": round(train.candles_per_s, 1),
                "batched_window120_candles_per_s": round(small.candles_per_s, 1),
                "aim_batched_candles_per_s": 20_000,
                "aim_every_candle_candles_per_s": 200,
                "model_trades": len(batched.trades),
                "model_return_pct": round(batched.performance.return_pct, 3),
                "buy_and_hold_return_pct": round(batched.buy_and_hold.return_pct, 3),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Candles written through the real store into a real database, for the outcome tests."""

from __future__ import annotations

import pandas as pd

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOL = "ETH/USDT"
M = 60_000
#: a day boundary, so every timeframe's candles align
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 86_400_000


def write_candles(
    db: Database, rows: list[tuple[float, float, float, float]], first_open: int, tf: str = "1m"
) -> None:
    """Store consecutive candles (open, high, low, close) of ``tf`` from ``first_open``."""
    d = {"1m": M, "1s": 1_000}[tf]
    df = pd.DataFrame(
        {
            "open_time": [first_open + i * d for i in range(len(rows))],
            "open": [r[0] for r in rows],
            "high": [r[1] for r in rows],
            "low": [r[2] for r in rows],
            "close": [r[3] for r in rows],
            "volume": [1.0] * len(rows),
        }
    )
    CandleStore(db).write(SYMBOL, tf, df, provenance=CandleSource.FILE, source="test")

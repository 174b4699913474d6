"""Candles: one closed candle as a frozen record, and the column layout of candle batches.

Batches of candles travel as pandas DataFrames with the columns ``CANDLE_COLUMNS``
(``open_time`` int64 epoch ms, prices and volume float64), sorted by ``open_time``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ghostcandle.domain.timeframes import close_time

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
VALUE_COLUMNS: tuple[str, ...] = (*PRICE_COLUMNS, "volume")
CANDLE_COLUMNS: tuple[str, ...] = ("open_time", *VALUE_COLUMNS)


@dataclass(frozen=True, slots=True)
class Candle:
    """A closed candle: a fact known from its ``close_time`` on."""

    symbol: str
    timeframe: str
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    @property
    def close_time(self) -> int:
        """Return the time from which this candle is known."""
        return close_time(self.open_time, self.timeframe)


def canonical_unsorted(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` restricted to the canonical columns with canonical dtypes, in its order."""
    return pd.DataFrame(
        {
            "open_time": df["open_time"].to_numpy(dtype=np.int64),
            **{c: df[c].to_numpy(dtype=np.float64) for c in VALUE_COLUMNS},
        }
    )


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` restricted to the canonical columns, with canonical dtypes, sorted by time."""
    out = canonical_unsorted(df)
    return out.sort_values("open_time", kind="stable").reset_index(drop=True)


def candles_from_frame(symbol: str, timeframe: str, df: pd.DataFrame) -> list[Candle]:
    """Turn a canonical batch into ``Candle`` records (for small batches and events)."""
    return [
        Candle(symbol, timeframe, int(t), float(o), float(h), float(lo), float(c), float(v))
        for t, o, h, lo, c, v in zip(
            df["open_time"].to_numpy(),
            df["open"].to_numpy(),
            df["high"].to_numpy(),
            df["low"].to_numpy(),
            df["close"].to_numpy(),
            df["volume"].to_numpy(),
            strict=True,
        )
    ]

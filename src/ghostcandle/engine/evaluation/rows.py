"""Rows of a ledger frame for the evaluation, copied only when they must be.

A long replay's ledger is a million rows: a copy of its frame is ~200MB. A group of rows that
lies in one run (a session of one model and timeframe, or a frame ordered by its groups) is a
slice of the frame, which pandas shares instead of copying; scattered rows are taken (copied).
Python values are made a chunk of rows at a time, never a list per column of the whole frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: rows turned into Python values at a time
CHUNK_ROWS = 10_000


def rows_at(df: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """Return the rows of ``df`` at ascending ``positions``: a slice when they are one run."""
    n = len(positions)
    if n and int(positions[-1]) - int(positions[0]) + 1 == n:
        start = int(positions[0])
        return df.iloc[start : start + n]
    return df.iloc[positions]


def in_order(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Return ``df`` stably sorted by ``column`` (``df`` itself when it already is)."""
    if df[column].is_monotonic_increasing:
        return df
    return df.sort_values(column, kind="stable")


def last_of_each(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Return ``df`` with one row per value of ``column``, the last (``df`` if none repeats)."""
    repeated = df[column].duplicated(keep="last")
    return df[~repeated] if repeated.any() else df


def values(df: pd.DataFrame, columns: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Yield each row's ``columns`` as Python values, as ``Series.tolist`` makes them."""
    for lo in range(0, len(df), CHUNK_ROWS):
        part = df.iloc[lo : lo + CHUNK_ROWS]
        yield from zip(*(part[c].tolist() for c in columns), strict=True)

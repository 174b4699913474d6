"""Validate a batch of candles: every bad row is rejected with a reason, good rows are kept.

Reasons (a row gets the first that applies, in this order):

- ``non_finite``: a price or the volume is NaN or infinite;
- ``non_positive_price``: a price is zero or negative;
- ``high_below_open_close``: ``high < max(open, close)``;
- ``low_above_open_close``: ``low > min(open, close)``;
- ``negative_volume``: ``volume < 0``;
- ``misaligned_open_time``: ``open_time`` is not a multiple of the timeframe;
- ``conflicting_duplicate``: the batch holds the same ``open_time`` with different values
  (every row of that open time is rejected: which one is right cannot be told).

Identical repeated rows are not errors: they are counted as duplicates and kept once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ghostcandle.domain.candles import PRICE_COLUMNS, VALUE_COLUMNS, canonical
from ghostcandle.domain.timeframes import duration_ms

REASONS: tuple[str, ...] = (
    "non_finite",
    "non_positive_price",
    "high_below_open_close",
    "low_above_open_close",
    "negative_volume",
    "misaligned_open_time",
    "conflicting_duplicate",
)


@dataclass(frozen=True)
class ValidationResult:
    """The good rows (canonical, sorted, unique) and what was dropped, by reason."""

    valid: pd.DataFrame
    rejected: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0

    @property
    def rejected_total(self) -> int:
        """Return the number of rejected rows."""
        return sum(self.rejected.values())


def validate_candles(df: pd.DataFrame, timeframe: str) -> ValidationResult:
    """Split ``df`` into valid rows and rejection counts by reason (see module doc)."""
    df = canonical(df)
    n = len(df)
    reason = np.full(n, -1, dtype=np.int8)

    def mark(mask: Any, code: int) -> None:
        reason[(reason < 0) & mask] = code

    values = df[list(VALUE_COLUMNS)].to_numpy()
    prices = df[list(PRICE_COLUMNS)].to_numpy()
    o, h, lo, c, v = (values[:, i] for i in range(5))
    with np.errstate(invalid="ignore"):
        mark(~np.isfinite(values).all(axis=1), 0)
        mark((prices <= 0).any(axis=1), 1)
        mark(h < np.maximum(o, c), 2)
        mark(lo > np.minimum(o, c), 3)
        mark(v < 0, 4)
    mark(df["open_time"].to_numpy() % duration_ms(timeframe) != 0, 5)

    ok = reason < 0
    good = df[ok]
    duplicated_key = good["open_time"].duplicated(keep=False).to_numpy()
    duplicates = 0
    if duplicated_key.any():
        dup_rows = good[duplicated_key]
        distinct = dup_rows.drop_duplicates()
        conflicting_times = distinct["open_time"][distinct["open_time"].duplicated(keep=False)]
        conflict = good["open_time"].isin(set(conflicting_times.tolist())).to_numpy()
        idx = np.flatnonzero(ok)
        reason[idx[conflict]] = 6
        ok = reason < 0
        good = df[ok]
        before = len(good)
        good = good.drop_duplicates(subset="open_time", keep="first")
        duplicates = before - len(good)

    codes, counts = np.unique(reason[reason >= 0], return_counts=True)
    rejected = {REASONS[int(k)]: int(cnt) for k, cnt in zip(codes, counts, strict=True)}
    return ValidationResult(good.reset_index(drop=True), rejected, duplicates)

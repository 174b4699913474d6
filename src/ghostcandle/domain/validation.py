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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ghostcandle.domain.candles import PRICE_COLUMNS, VALUE_COLUMNS, canonical, canonical_unsorted
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


def validate_candles(
    df: pd.DataFrame, timeframe: str, *, keys: Sequence[str] = ()
) -> ValidationResult:
    """Split ``df`` into valid rows and rejection counts by reason (see module doc).

    ``keys`` names extra columns (e.g. ``("symbol",)``) that are kept and that, with
    ``open_time``, identify a candle: one call then validates many series at once.
    """
    key_cols = [*keys, "open_time"]
    if keys:
        df = pd.concat(
            [df[list(keys)].reset_index(drop=True), canonical_unsorted(df)], axis=1
        ).sort_values(key_cols, kind="stable", ignore_index=True)
    else:
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
    duplicated_key = good.duplicated(subset=key_cols, keep=False).to_numpy()
    duplicates = 0
    if duplicated_key.any():
        distinct = good[duplicated_key].drop_duplicates()
        clashing = distinct[distinct.duplicated(subset=key_cols, keep=False)][key_cols]
        conflict = (
            good[key_cols]
            .merge(clashing.drop_duplicates(), how="left", on=key_cols, indicator=True)["_merge"]
            .eq("both")
            .to_numpy()
        )
        idx = np.flatnonzero(ok)
        reason[idx[conflict]] = 6
        ok = reason < 0
        good = df[ok]
        before = len(good)
        good = good.drop_duplicates(subset=key_cols, keep="first")
        duplicates = before - len(good)

    codes, counts = np.unique(reason[reason >= 0], return_counts=True)
    rejected = {REASONS[int(k)]: int(cnt) for k, cnt in zip(codes, counts, strict=True)}
    return ValidationResult(good.reset_index(drop=True), rejected, duplicates)


def all_valid_in_order(open_time: np.ndarray, values: Sequence[np.ndarray], timeframe: str) -> bool:
    """Tell whether ``validate_candles`` would keep the batch whole and as it is.

    True when every row passes every check and the open times strictly increase (so no
    duplicate, nothing to sort): a clean file's rows, checked with a few array passes and no
    frame. ``values`` are the ``VALUE_COLUMNS`` arrays, in that order.
    """
    o, h, lo, c, v = (np.asarray(x, dtype=np.float64) for x in values)
    t = np.asarray(open_time, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        return bool(
            all(np.isfinite(x).all() for x in (o, h, lo, c, v))
            and all((x > 0).all() for x in (o, h, lo, c))
            and (h >= np.maximum(o, c)).all()
            and (lo <= np.minimum(o, c)).all()
            and (v >= 0).all()
            and not (t % duration_ms(timeframe)).any()
            and (t[1:] > t[:-1]).all()
        )

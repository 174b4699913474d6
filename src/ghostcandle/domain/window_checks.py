"""Checks of many windows of one series at once: candles present, flags, provenance counts.

Recording a month of decision points judges tens of thousands of windows; one pass over the
series' rows (prefix sums of per-row facts) answers every window in O(1) each instead of a loop
of small array operations per window.

A window's candles are *present* when stored, complete (an incomplete roll-up counts as
missing) and on the timeframe's grid. The flags name what is wrong (none set: all is well):

- ``NON_FINITE``: a value is NaN or infinite;
- ``BAD_OHLC``: a low above the open or close, a high below them, or a negative volume;
- ``UNORDERED``: open times not strictly increasing, off the timeframe's grid, or outside the
  window's range;
- ``NOT_CLOSED``: a candle (or the window's last one) closes after the decision time;
- ``NO_WARMUP``: the window holds fewer than ``warmup`` candles, so indicators over it are not
  defined at its end;
- ``RECENT_GAP``: one of the last ``recent`` candles of the window is missing or incomplete.

The first four are *hard* (``HARD_FLAGS``): such a sample is never trained on.

>>> flag_names(SampleFlag.NOT_CLOSED | SampleFlag.RECENT_GAP)
['not_closed', 'recent_gap']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

import numpy as np

from ghostcandle.domain.candle_rows import SeriesRows
from ghostcandle.domain.timeframes import duration_ms


class SampleFlag(IntFlag):
    """What is wrong with a sample's input (stored as an integer bit set)."""

    NON_FINITE = 1
    BAD_OHLC = 2
    UNORDERED = 4
    NOT_CLOSED = 8
    NO_WARMUP = 16
    RECENT_GAP = 32


#: Flags that keep a sample out of training whatever the caller asks.
HARD_FLAGS = (
    SampleFlag.NON_FINITE | SampleFlag.BAD_OHLC | SampleFlag.UNORDERED | SampleFlag.NOT_CLOSED
)


def flag_names(flags: int) -> list[str]:
    """Return the lower-case names of the flags set in ``flags``, lowest bit first."""
    return [str(f.name).lower() for f in SampleFlag if flags & f]


@dataclass(frozen=True, eq=False)
class WindowChecks:
    """Per window: expected candles, those stored and complete, flags, candles per provenance."""

    expected: np.ndarray
    present: np.ndarray
    flags: np.ndarray
    provenance: dict[str, np.ndarray]

    @property
    def completeness(self) -> np.ndarray:
        """Return the share of each window's expected candles stored and complete."""
        out: np.ndarray = self.present / np.maximum(self.expected, 1)
        return out


def check_windows(
    series: SeriesRows,
    timeframe: str,
    starts: np.ndarray,
    ends: np.ndarray,
    decision_times: np.ndarray,
    *,
    warmup: int,
    recent: int,
    whole: bool = False,
) -> WindowChecks:
    """Check windows ``[starts[k], ends[k]]`` (open times) of ``series`` at ``decision_times``.

    ``series`` holds ascending open times as the store returns them; with ``whole`` each window
    is the entire ``series`` as given (any order: a single window under test).
    """
    t = np.asarray(series.open_time, dtype=np.int64)
    n, d = len(t), duration_ms(timeframe)
    starts, ends = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
    decisions = np.asarray(decision_times, np.int64)
    expected = (ends - starts) // d + 1
    if whole:
        i, j = np.zeros(len(starts), np.int64), np.full(len(starts), n, np.int64)
    else:
        i = np.searchsorted(t, starts, side="left").astype(np.int64)
        j = np.searchsorted(t, ends, side="right").astype(np.int64)

    def within(mask: np.ndarray, lo: np.ndarray = i) -> np.ndarray:
        prefix = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
        out: np.ndarray = prefix[j] - prefix[np.minimum(lo, j)]
        return out

    v = np.asarray(series.values, dtype=np.float64).reshape(-1, 5)
    o, h, lo_, c, vol = v.T
    with np.errstate(invalid="ignore"):
        bad_ohlc = (lo_ > np.minimum(o, c)) | (h < np.maximum(o, c)) | (lo_ > h) | (vol < 0)
    on_grid = t % d == 0
    good = np.asarray(series.complete, dtype=bool) & on_grid
    breaks = np.zeros(n, dtype=bool)
    breaks[1:] = t[1:] <= t[:-1]
    has = j > i
    first = np.where(has, t[np.minimum(i, max(n - 1, 0))] if n else 0, 0)
    last = np.where(has, t[np.maximum(j - 1, 0)] if n else 0, 0)
    if whole and n:
        first, last = np.full(len(i), t.min()), np.full(len(i), t.max())
    r = np.minimum(max(recent, 0), expected)
    recent_lo = np.searchsorted(t, ends - (r - 1) * d, side="left") if n else i

    flags = np.zeros(len(starts), dtype=np.int64)
    finite = np.asarray(np.isfinite(v).all(axis=1), dtype=bool)
    flags |= np.where(within(~finite) > 0, SampleFlag.NON_FINITE, 0)
    flags |= np.where(within(bad_ohlc) > 0, SampleFlag.BAD_OHLC, 0)
    unordered = (within(~on_grid) > 0) | (within(breaks, i + 1) > 0)
    unordered |= has & ((first < starts) | (last > ends))
    flags |= np.where(unordered, SampleFlag.UNORDERED, 0)
    not_closed = (ends + d > decisions) | (has & (last + d > decisions))
    flags |= np.where(not_closed, SampleFlag.NOT_CLOSED, 0)
    flags |= np.where(j - i < warmup, SampleFlag.NO_WARMUP, 0)
    flags |= np.where(within(good, recent_lo) < r, SampleFlag.RECENT_GAP, 0)
    prov = np.asarray(series.provenance, dtype=object)
    counts = {str(p): within(prov == p) for p in sorted({str(x) for x in prov})}
    present = np.minimum(within(good), expected)
    return WindowChecks(expected, present, flags, counts)

"""Find gaps (missing candles) in a sorted series of open times. Gaps are reported, never filled.

>>> [ (g.start, g.end, g.missing) for g in find_gaps([0, 60_000, 240_000], "1m") ]
[(120000, 180000, 2)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ghostcandle.domain.timeframes import duration_ms


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing candles from ``start`` to ``end`` (open times, both inclusive)."""

    start: int
    end: int
    missing: int


def find_gaps(open_times: Sequence[int] | np.ndarray, timeframe: str) -> list[Gap]:
    """Return the gaps in ``open_times`` (sorted ascending, unique) for ``timeframe``."""
    t = np.asarray(open_times, dtype=np.int64)
    if len(t) < 2:
        return []
    d = duration_ms(timeframe)
    steps = np.diff(t)
    where = np.flatnonzero(steps > d)
    return [Gap(int(t[i] + d), int(t[i + 1] - d), int(steps[i] // d - 1)) for i in where]

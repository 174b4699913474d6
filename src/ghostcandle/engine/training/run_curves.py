"""A run's loss curves (downsampled as they grow), its convergence state and its value score.

``Curve`` keeps at most ``2 * points`` ``(step, loss)`` pairs however long a run lasts: when
full, neighbouring pairs merge into one (the mean loss at the later step), so a curve is a
running average whose resolution halves as the run doubles. Memory and the stored row stay
bounded for a session that trains for days.

**Convergence** (``convergence``): on the last ``K = 8`` points of the validation curve (the
training curve where a run has no validation). An online session's curve is the loss of each
new batch before it is learnt, noisy by nature, so the test asks for evidence, not a sign:

- fewer than 3 points: ``unknown``;
- a non-finite last loss, or the window's median above twice the best median of any ``K``
  consecutive points: ``diverging``;
- else the least-squares slope of loss over point index and its t statistic: with ``|t|``
  below 2.45 (two-sided 5% at 6 degrees of freedom), or a fitted change across the window
  (slope times ``K - 1``) within ``TOLERANCE`` (1%) of the window's mean absolute loss,
  ``plateau``; otherwise ``improving`` (falling) or ``diverging`` (rising).

**Value** (``value_per_1k``): how much the validation loss (training loss without one) fell per
1,000 steps: ``(first - last) / steps * 1000``; positive is better, None before two points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

IMPROVING, PLATEAU, DIVERGING, UNKNOWN = "improving", "plateau", "diverging", "unknown"
WINDOW = 8
TOLERANCE = 0.01
#: |t| of the window's slope needed to call a trend (two-sided 5%, 6 degrees of freedom)
T_CRITICAL = 2.45
#: A curve keeps between ``POINTS`` and ``2 * POINTS`` pairs once it is long.
POINTS = 100


class Curve:
    """``(step, loss)`` pairs, merged pairwise whenever more than ``2 * points`` are kept."""

    def __init__(self, points: int = POINTS, initial: Sequence[tuple[int, float]] = ()) -> None:
        self.points = points
        #: pairs of (last step, summed loss, count) per kept bucket
        self._buckets: list[list[float]] = [[float(s), float(v), 1.0] for s, v in initial]
        #: how many raw points one bucket holds before it is closed
        self._width = 1

    def add(self, step: int, loss: float) -> None:
        """Append one point (merging neighbours when the curve is full)."""
        last = self._buckets[-1] if self._buckets else None
        if last is not None and last[2] < self._width:
            last[0], last[1], last[2] = float(step), last[1] + loss, last[2] + 1
        else:
            self._buckets.append([float(step), float(loss), 1.0])
        if len(self._buckets) > 2 * self.points:
            merged = []
            for i in range(0, len(self._buckets) - 1, 2):
                a, b = self._buckets[i], self._buckets[i + 1]
                merged.append([b[0], a[1] + b[1], a[2] + b[2]])
            if len(self._buckets) % 2:
                merged.append(self._buckets[-1])
            self._buckets = merged
            self._width *= 2

    def pairs(self) -> tuple[tuple[int, float], ...]:
        """Return the curve as ``(step, mean loss)`` pairs."""
        return tuple((int(b[0]), b[1] / b[2]) for b in self._buckets)

    def __len__(self) -> int:
        return len(self._buckets)


def convergence(
    curve: Sequence[tuple[int, float]], window: int = WINDOW, tolerance: float = TOLERANCE
) -> str:
    """Return improving / plateau / diverging / unknown for ``curve`` (see the module doc)."""
    values = np.array([v for _, v in curve], dtype=np.float64)
    if len(values) < 3:
        return UNKNOWN
    if not math.isfinite(values[-1]):
        return DIVERGING
    finite = values[np.isfinite(values)]
    k = min(window, len(finite))
    medians = [float(np.median(finite[i : i + k])) for i in range(len(finite) - k + 1)]
    if medians[-1] > 2.0 * min(medians) > 0:
        return DIVERGING
    tail = values[-window:]
    x = np.arange(len(tail), dtype=np.float64)
    slope, intercept = np.polyfit(x, tail, 1)
    resid = tail - (slope * x + intercept)
    dof = len(tail) - 2
    se = math.sqrt(float(resid @ resid) / dof / float(((x - x.mean()) ** 2).sum())) if dof else 0.0
    t = math.inf if se == 0.0 else abs(float(slope)) / se
    scale = float(np.mean(np.abs(tail))) or 1.0
    change = float(slope) * (len(tail) - 1) / scale
    if t < T_CRITICAL or abs(change) <= tolerance:
        return PLATEAU
    return IMPROVING if change < 0 else DIVERGING


def value_per_1k(curve: Sequence[tuple[int, float]], steps: int) -> float | None:
    """Return the fall of the loss per 1,000 steps from the curve's first to last point."""
    if len(curve) < 2 or steps <= 0:
        return None
    first, last = curve[0][1], curve[-1][1]
    if not (math.isfinite(first) and math.isfinite(last)):
        return None
    return (first - last) / steps * 1000.0

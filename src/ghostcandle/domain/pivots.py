"""Multi-level pivots (Williams market structure) that never repaint.

Definition (the README's "Market structure" section says the same):

- **Level 1.** Candle ``i`` is a swing high if its ``high`` is *strictly* greater than the high
  of each of the ``n`` stored candles before it and the ``n`` after it (``n = width``, default
  2); a swing low likewise with ``low`` strictly smaller. Ties break towards *no pivot*: if an
  equal extreme lies within ``n`` candles on either side, neither candle is a pivot. The first
  and last ``n`` candles of a series cannot be pivots (they lack neighbours). Neighbours are the
  adjacent *stored* candles: a gap in the data is not filled.
- **Level k (2..5).** Take the level-(k-1) highs in time order as a sequence of prices; a
  level-(k-1) high is a level-k high if its price is strictly greater than the prices of the ``n``
  level-(k-1) highs before it and the ``n`` after it. Lows mirror this. A level-k pivot is also a
  pivot of every level below it, and each level is a separate record (``L1H``, ``L2H``, ...).
- **Confirmation.** A level-1 pivot at candle ``i`` is confirmed by candle ``i + n``:
  ``confirmed_at`` is that candle's close time. A level-k pivot is confirmed when the ``n``-th
  later level-(k-1) pivot of its kind is confirmed, and takes that pivot's ``confirmed_at``.
  Nothing later can change a confirmed pivot, so computing candle by candle gives exactly the
  batch result restricted to what was confirmed by then.
- **Strength.** The relative margin by which the pivot beats the ``2n`` prices it was compared
  with: ``(price - max(others)) / price`` for a high, ``(min(others) - price) / price`` for a low.
  Always > 0; it uses only what was known at confirmation.

``PivotDetector`` is the incremental form (one candle at a time, O(levels) per candle) and
``batch_pivots`` the vectorised one; tests prove they agree exactly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import Pivot

MAX_LEVEL = 5
KINDS: tuple[str, str] = ("H", "L")
ALL_PIVOT_TYPES: frozenset[str] = frozenset(
    f"L{level}{kind}" for level in range(1, MAX_LEVEL + 1) for kind in KINDS
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PivotConfig:
    """How pivots are found: ``width`` neighbours on each side, levels ``1..levels``."""

    width: int = 2
    levels: int = MAX_LEVEL

    def __post_init__(self) -> None:
        if self.width < 1:
            raise UserInputError(f"pivot width must be at least 1, got {self.width}")
        if not 1 <= self.levels <= MAX_LEVEL:
            raise UserInputError(f"pivot levels must be 1..{MAX_LEVEL}, got {self.levels}")


def pivot_type(level: int, kind: str) -> str:
    """Return the type name of a pivot (``pivot_type(2, "H") == "L2H"``)."""
    return f"L{level}{kind}"


def _margin(kind: str, price: float, others: float) -> float:
    return (price - others) / price if kind == "H" else (others - price) / price


class _SwingWindow:
    """The last ``2n + 1`` items of one sequence; tells whether the middle one is a swing."""

    def __init__(self, width: int, kind: str) -> None:
        self.width = width
        self.kind = kind
        self.times: deque[int] = deque(maxlen=2 * width + 1)
        self.prices: deque[float] = deque(maxlen=2 * width + 1)

    def push(self, time: int, price: float) -> tuple[int, float, float] | None:
        """Add an item; return ``(time, price, strength)`` of the middle item if it is a swing."""
        self.times.append(time)
        self.prices.append(price)
        if len(self.prices) <= 2 * self.width:
            return None
        mid = self.prices[self.width]
        others = [p for j, p in enumerate(self.prices) if j != self.width]
        if self.kind == "H":
            extreme = max(others)
            if not mid > extreme:
                return None
        else:
            extreme = min(others)
            if not mid < extreme:
                return None
        return self.times[self.width], mid, _margin(self.kind, mid, extreme)


class PivotDetector:
    """Find pivots of one series candle by candle; ``update`` returns the newly confirmed ones.

    Feed candles oldest first, each once. Within one candle the new pivots come highs first,
    then lows, each by rising level (the order ``batch_pivots`` sorts by).
    """

    def __init__(self, symbol: str, timeframe: str, config: PivotConfig | None = None) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self.config = config or PivotConfig()
        self._windows = {
            kind: [_SwingWindow(self.config.width, kind) for _ in range(self.config.levels)]
            for kind in KINDS
        }

    def update(self, open_time: int, high: float, low: float, close_time: int) -> list[Pivot]:
        """Take one closed candle; return the pivots its arrival confirmed."""
        out: list[Pivot] = []
        for kind, price in (("H", high), ("L", low)):
            item: tuple[int, float] = (open_time, price)
            for level, window in enumerate(self._windows[kind], start=1):
                found = window.push(*item)
                if found is None:
                    break
                t, p, strength = found
                out.append(
                    Pivot(
                        self.symbol,
                        self.timeframe,
                        t,
                        p,
                        pivot_type(level, kind),
                        level,
                        strength,
                        close_time,
                    )
                )
                item = (t, p)
        return out


def _batch_swings(
    prices: NDArray[np.float64], kind: str, width: int
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Return the indices of the swings of ``prices`` and their strengths (vectorised)."""
    span = 2 * width + 1
    if len(prices) < span:
        return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)
    win = np.lib.stride_tricks.sliding_window_view(prices, span)
    mid = win[:, width]
    if kind == "H":
        extreme = np.maximum(win[:, :width].max(axis=1), win[:, width + 1 :].max(axis=1))
        hit = mid > extreme
    else:
        extreme = np.minimum(win[:, :width].min(axis=1), win[:, width + 1 :].min(axis=1))
        hit = mid < extreme
    idx = np.nonzero(hit)[0]
    m, e = mid[idx], extreme[idx]
    strength = (m - e) / m if kind == "H" else (e - m) / m
    return idx + width, strength


def batch_pivots(
    symbol: str,
    timeframe: str,
    open_time: NDArray[np.int64],
    high: NDArray[np.float64],
    low: NDArray[np.float64],
    close_time: NDArray[np.int64],
    config: PivotConfig | None = None,
) -> list[Pivot]:
    """Return every pivot of a whole series, sorted by ``(confirmed_at, kind, level)``."""
    cfg = config or PivotConfig()
    w = cfg.width
    rows: list[tuple[int, int, int, Pivot]] = []
    for k_rank, (kind, prices) in enumerate((("H", high), ("L", low))):
        times = np.asarray(open_time, dtype=np.int64)
        seq = np.asarray(prices, dtype=np.float64)
        known = np.asarray(close_time, dtype=np.int64)
        for level in range(1, cfg.levels + 1):
            idx, strength = _batch_swings(seq, kind, w)
            if len(idx) == 0:
                break
            confirmed = known[idx + w]
            name = pivot_type(level, kind)
            for t, p, s, c in zip(
                times[idx].tolist(),
                seq[idx].tolist(),
                strength.tolist(),
                confirmed.tolist(),
                strict=True,
            ):
                rows.append((c, k_rank, level, Pivot(symbol, timeframe, t, p, name, level, s, c)))
            times, seq, known = times[idx], seq[idx], confirmed
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return [r[3] for r in rows]

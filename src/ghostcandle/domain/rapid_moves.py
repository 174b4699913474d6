"""Rapid price moves: velocity above a threshold, and volatility spikes against a baseline.

Two detectors, both configurable (``RapidMoveConfig``), both reading only candles ``<= t``:

- **velocity**: ``v = (close[t] / close[t-w] - 1) * 100 / minutes`` in % per minute, where
  ``w = velocity_window`` candles and ``minutes`` is the time between the two closes (so a gap in
  the data lowers the velocity rather than inventing one). An event when ``|v| >= threshold``;
  ``direction`` is the sign of ``v``.
- **volatility_spike**: the true range of candle ``t`` in % of the previous close, against an
  adaptive baseline: the *median* of that same measure over the ``baseline_window`` candles
  before ``t`` (the candle itself excluded, so a spike cannot raise its own bar). An event when
  ``tr_pct > spike_ratio * baseline``; ``value`` is the ratio, ``direction`` the sign of
  ``close - open``. The median (an order statistic) is used rather than a mean because it is
  robust to earlier spikes and is computed exactly the same way in batch and incrementally.

Within one candle a velocity event comes before a spike. ``RapidMoveDetector`` is the
incremental form and ``batch_rapid_moves`` the vectorised one; they agree exactly.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import RapidMoveEvent
from ghostcandle.domain.timeframes import MINUTE_MS


@dataclass(frozen=True, slots=True, kw_only=True)
class RapidMoveConfig:
    """Thresholds of the two detectors (see the module doc)."""

    velocity_threshold: float = 0.5
    velocity_window: int = 1
    spike_ratio: float = 5.0
    baseline_window: int = 60

    def __post_init__(self) -> None:
        if self.velocity_window < 1 or self.baseline_window < 1:
            raise UserInputError(
                "rapid-move windows must be at least 1 candle, got "
                f"velocity_window={self.velocity_window}, baseline_window={self.baseline_window}"
            )
        if not (self.velocity_threshold > 0 and self.spike_ratio > 0):
            raise UserInputError(
                "rapid-move thresholds must be positive, got "
                f"velocity_threshold={self.velocity_threshold}, spike_ratio={self.spike_ratio}"
            )


def _sign(x: float) -> int:
    return 1 if x > 0 else (-1 if x < 0 else 0)


class RapidMoveDetector:
    """Detect rapid moves of one series candle by candle (O(baseline_window) worst case)."""

    def __init__(self, symbol: str, timeframe: str, config: RapidMoveConfig | None = None) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self.config = config or RapidMoveConfig()
        w = self.config.velocity_window
        self._closes: deque[tuple[int, float]] = deque(maxlen=w + 1)
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []

    def _baseline(self) -> float:
        s, n = self._sorted, len(self._sorted)
        if n < self.config.baseline_window:
            return math.nan
        return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2

    def update(
        self, open_time: int, open_: float, high: float, low: float, close: float, close_time: int
    ) -> list[RapidMoveEvent]:
        """Take one closed candle; return the rapid-move events it triggers."""
        cfg = self.config
        out: list[RapidMoveEvent] = []
        prev_close = self._closes[-1][1] if self._closes else math.nan
        self._closes.append((close_time, close))
        if len(self._closes) > cfg.velocity_window:
            t0, c0 = self._closes[0]
            v = (close / c0 - 1.0) * 100.0 / ((close_time - t0) / MINUTE_MS)
            if abs(v) >= cfg.velocity_threshold:
                out.append(
                    RapidMoveEvent(
                        self.symbol,
                        self.timeframe,
                        "velocity",
                        open_time,
                        close_time,
                        v,
                        cfg.velocity_threshold,
                        _sign(v),
                    )
                )
        if math.isnan(prev_close):
            return out
        tr = max(high - low, abs(high - prev_close), abs(low - prev_close))
        tr_pct = tr / prev_close * 100.0
        base = self._baseline()
        if base > 0 and tr_pct > cfg.spike_ratio * base:
            out.append(
                RapidMoveEvent(
                    self.symbol,
                    self.timeframe,
                    "volatility_spike",
                    open_time,
                    close_time,
                    tr_pct / base,
                    cfg.spike_ratio,
                    _sign(close - open_),
                )
            )
        self._recent.append(tr_pct)
        bisect.insort(self._sorted, tr_pct)
        if len(self._recent) > cfg.baseline_window:
            old = self._recent.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        return out


def _rolling_median_before(x: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """Return ``m[t]`` = median of ``x[t-n:t]`` (NaN where fewer than ``n`` values precede)."""
    out = np.full(len(x), np.nan)
    if len(x) <= n:
        return out
    win = np.lib.stride_tricks.sliding_window_view(x[:-1], n)
    if n % 2:
        med = np.partition(win, n // 2, axis=1)[:, n // 2]
    else:
        part = np.partition(win, (n // 2 - 1, n // 2), axis=1)
        med = (part[:, n // 2 - 1] + part[:, n // 2]) / 2
    out[n:] = med
    return out


def batch_rapid_moves(
    symbol: str,
    timeframe: str,
    open_time: NDArray[np.int64],
    open_: NDArray[np.float64],
    high: NDArray[np.float64],
    low: NDArray[np.float64],
    close: NDArray[np.float64],
    close_time: NDArray[np.int64],
    config: RapidMoveConfig | None = None,
) -> list[RapidMoveEvent]:
    """Return every rapid-move event of a whole series, in detection order."""
    cfg = config or RapidMoveConfig()
    n = len(close)
    rows: list[tuple[int, int, RapidMoveEvent]] = []
    w = cfg.velocity_window
    if n > w:
        minutes = (close_time[w:] - close_time[:-w]) / MINUTE_MS
        v = (close[w:] / close[:-w] - 1.0) * 100.0 / minutes
        for i in np.nonzero(np.abs(v) >= cfg.velocity_threshold)[0].tolist():
            t = i + w
            val = float(v[i])
            rows.append(
                (
                    t,
                    0,
                    RapidMoveEvent(
                        symbol,
                        timeframe,
                        "velocity",
                        int(open_time[t]),
                        int(close_time[t]),
                        val,
                        cfg.velocity_threshold,
                        _sign(val),
                    ),
                )
            )
    if n > 1:
        prev = close[:-1]
        tr = np.maximum(
            high[1:] - low[1:], np.maximum(np.abs(high[1:] - prev), np.abs(low[1:] - prev))
        )
        tr_pct = tr / prev * 100.0
        base = _rolling_median_before(tr_pct, cfg.baseline_window)
        with np.errstate(invalid="ignore"):
            hit = (base > 0) & (tr_pct > cfg.spike_ratio * base)
        for i in np.nonzero(hit)[0].tolist():
            t = i + 1
            rows.append(
                (
                    t,
                    1,
                    RapidMoveEvent(
                        symbol,
                        timeframe,
                        "volatility_spike",
                        int(open_time[t]),
                        int(close_time[t]),
                        float(tr_pct[i] / base[i]),
                        cfg.spike_ratio,
                        _sign(float(close[t] - open_[t])),
                    ),
                )
            )
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]

"""What a decision turned out to be worth, known once its horizon has closed (pure: numpy only).

A decision is taken at the close ``t`` of a candle of timeframe ``tf`` (duration ``d``; ``c0``
is that candle's close). Its outcome reads the ``h = horizon(tf)`` candles of ``tf`` that open
at ``t, t + d, ..., t + (h - 1)d`` and nothing later: it is known at ``known_at = t + h·d``, the
close of the last of them. With ``k`` the broker's round-trip cost (``BrokerConfig``, 0.2% by
default), every figure is a fraction of ``c0``:

- **forward return** ``r = close_h / c0 - 1`` (``close_h``: the last horizon candle's close).
- **MFE / MAE** of a *long* entered at ``c0``: ``MFE = max(0, max(high) / c0 - 1) >= 0`` and
  ``MAE = min(0, min(low) / c0 - 1) <= 0`` over the horizon candles. For a *short* the signs
  swap: its favourable excursion is ``-MAE`` and its adverse one ``-MFE``.
- **hindsight-optimal action**, net of ``k``, exiting at the best price of the horizon:
  ``long = MFE - k``, ``short = -MAE - k``. BUY if ``long > 0`` and ``long >= short``; SELL if
  ``short > 0`` and ``short > long``; else HOLD. ``best_profit = max(long, short, 0)``. A move
  of exactly the cost is HOLD (it pays nothing).
- **profit of the action taken**, held from ``c0`` to ``close_h``, net of ``k``: BUY ``r - k``,
  SELL ``-r - k``, HOLD ``0`` (flat); NaN when no action was taken.
- **profitability** in [0, 1]: ``1 / (1 + exp(-edge / unit))`` with ``edge = |r| - k``, what the
  better direction held to the horizon close earned net of costs, and ``unit = max(s·sqrt(h),
  k, 1e-4)`` with ``s`` the standard deviation (ddof 1) of the one-candle log returns of the
  ``vol_window`` candles closed by ``t`` (known at the decision; 0 when they are not all stored).
  So a setup that just paid its costs scores 0.5, one that earned one horizon-volatility more
  ``1/(1+e^-1) = 0.73``, two more 0.88. ``is_profitable`` is ``edge > 0`` (score above 0.5).
- **rapid move**: a stored rapid-move event of the same series detected in ``[t, known_at]``
  (the decision's own frame shows it, or its horizon holds it).

>>> o = measure(np.array([100.0]), np.array([[101.0, 103.0]]), np.array([[99.0, 100.5]]),
...             np.array([102.0]), np.array([0.01]), 0.002, np.array([int(Action.SELL)]))
>>> round(float(o.forward_return[0]), 4), round(float(o.mfe[0]), 4), round(float(o.mae[0]), 4)
(0.02, 0.03, -0.01)
>>> Action(int(o.best_action[0])).name, round(float(o.taken_profit[0]), 4)
('BUY', -0.022)
>>> round(float(o.profitability[0]), 4)  # logistic((0.02 - 0.002) / 0.01)
0.8581
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

import numpy as np

from ghostcandle.domain.actions import ROUND_TRIP_COST, Action
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import MINUTE_MS, TIMEFRAMES, duration_ms

#: Candles of its own timeframe an outcome waits for: about a quarter to a half of the next
#: coarser candle, so a setup is judged on the move it was about, not the next tick or a trend.
DEFAULT_HORIZONS: Mapping[str, int] = MappingProxyType(
    {"1s": 60, "1m": 15, "3m": 10, "5m": 12, "15m": 8, "30m": 8,
     "1h": 4, "2h": 6, "4h": 6, "1d": 3}
)  # fmt: skip
#: Candles before the decision whose returns scale the profitability.
DEFAULT_VOL_WINDOW = 20
#: Floor of the profitability's unit (1 bp), so a flat market with no costs cannot divide by 0.
MIN_UNIT = 1e-4
#: Least time an outcome waits past its horizon for late candles before it expires.
DEFAULT_MIN_GRACE_MS = 5 * MINUTE_MS


class OutcomeStatus(StrEnum):
    """Where an outcome stands: waiting for its horizon, measured, or given up on."""

    PENDING = "pending"
    VALIDATED = "validated"
    EXPIRED = "expired"


@dataclass(frozen=True, kw_only=True)
class OutcomeConfig:
    """Horizon per timeframe, the round-trip cost, the volatility window and the grace period.

    An outcome whose candles are not all stored ``max(min_grace_ms, h·d)`` after ``known_at``
    expires: the data never came.
    """

    horizons: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_HORIZONS))
    cost: float = ROUND_TRIP_COST
    vol_window: int = DEFAULT_VOL_WINDOW
    min_grace_ms: int = DEFAULT_MIN_GRACE_MS

    def __post_init__(self) -> None:
        for tf, h in self.horizons.items():
            if tf not in TIMEFRAMES:
                raise UserInputError(f"outcome horizon for unknown timeframe {tf!r}")
            if isinstance(h, bool) or not isinstance(h, int) or h < 1:
                raise UserInputError(
                    f"outcome horizon {h!r} for {tf} must be a whole number of candles >= 1"
                )
        if not (math.isfinite(self.cost) and 0.0 <= self.cost < 1.0):
            raise UserInputError(f"round-trip cost {self.cost!r} must be a fraction in [0, 1)")
        if self.vol_window < 2:
            raise UserInputError(f"volatility window {self.vol_window} must be >= 2 candles")
        if self.min_grace_ms < 0:
            raise UserInputError(f"grace {self.min_grace_ms} ms must be >= 0")

    def horizon(self, timeframe: str) -> int:
        """Return the horizon of ``timeframe`` in its candles (the default if not configured)."""
        duration_ms(timeframe)
        return int(self.horizons.get(timeframe, DEFAULT_HORIZONS[timeframe]))

    def with_horizon(self, timeframe: str, horizon: int) -> OutcomeConfig:
        """Return a copy whose horizon for ``timeframe`` is ``horizon`` candles."""
        return OutcomeConfig(
            horizons={**self.horizons, timeframe: horizon},
            cost=self.cost,
            vol_window=self.vol_window,
            min_grace_ms=self.min_grace_ms,
        )

    def grace_ms(self, timeframe: str, horizon: int) -> int:
        """Return how long past ``known_at`` an outcome waits for its candles."""
        return max(self.min_grace_ms, horizon * duration_ms(timeframe))


@dataclass(frozen=True)
class OutcomeArrays:
    """Outcomes of many decisions, one entry each (see the module doc for every formula).

    ``complete`` is False where a candle the outcome reads is not stored; every other field of
    such an entry is meaningless (NaN or HOLD).
    """

    complete: np.ndarray
    ref_close: np.ndarray
    forward_return: np.ndarray
    mfe: np.ndarray
    mae: np.ndarray
    #: ``Action`` values (int64)
    best_action: np.ndarray
    best_profit: np.ndarray
    taken_profit: np.ndarray
    unit: np.ndarray
    profitability: np.ndarray
    is_profitable: np.ndarray
    rapid_move: np.ndarray

    def __len__(self) -> int:
        return len(self.complete)


def horizon_unit(history_close: np.ndarray, horizon: int, cost: float) -> np.ndarray:
    """Return the profitability unit ``max(s·sqrt(h), cost, MIN_UNIT)`` per row.

    ``history_close``: ``(n, w + 1)`` closes ending at the decision's close; a row holding a NaN
    (a candle not stored) has ``s = 0``.
    """
    closes = np.asarray(history_close, np.float64)
    if closes.shape[1] < 3:
        sigma = np.zeros(len(closes))
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma = np.std(np.diff(np.log(closes), axis=1), axis=1, ddof=1)
    sigma = np.where(np.isfinite(sigma), sigma, 0.0)
    out: np.ndarray = np.maximum(sigma * math.sqrt(horizon), max(cost, MIN_UNIT))
    return out


def measure(
    ref_close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close_h: np.ndarray,
    unit: np.ndarray,
    cost: float,
    taken: np.ndarray | None = None,
    rapid_move: np.ndarray | None = None,
) -> OutcomeArrays:
    """Return the outcomes of ``n`` decisions from their horizon candles.

    ``high``/``low``: ``(n, h)``; ``ref_close``, ``close_h``, ``unit``: ``(n,)``; ``taken``:
    ``Action`` values, ``-1`` where no action was taken.
    """
    c0 = np.asarray(ref_close, np.float64)
    n = len(c0)
    r = np.asarray(close_h, np.float64) / c0 - 1.0
    mfe = np.maximum(0.0, np.max(high, axis=1) / c0 - 1.0)
    mae = np.minimum(0.0, np.min(low, axis=1) / c0 - 1.0)
    long, short = mfe - cost, -mae - cost
    best = np.full(n, int(Action.HOLD), dtype=np.int64)
    best[(long > 0) & (long >= short)] = int(Action.BUY)
    best[(short > 0) & (short > long)] = int(Action.SELL)
    act = np.full(n, -1, np.int64) if taken is None else np.asarray(taken, np.int64)
    taken_profit = np.full(n, np.nan)
    taken_profit[act == int(Action.HOLD)] = 0.0
    buy, sell = act == int(Action.BUY), act == int(Action.SELL)
    taken_profit[buy] = r[buy] - cost
    taken_profit[sell] = -r[sell] - cost
    edge = np.abs(r) - cost
    u = np.asarray(unit, np.float64)
    return OutcomeArrays(
        complete=np.ones(n, dtype=bool),
        ref_close=c0,
        forward_return=r,
        mfe=mfe,
        mae=mae,
        best_action=best,
        best_profit=np.maximum(np.maximum(long, short), 0.0),
        taken_profit=taken_profit,
        unit=u,
        profitability=1.0 / (1.0 + np.exp(-edge / u)),
        is_profitable=edge > 0,
        rapid_move=np.zeros(n, bool) if rapid_move is None else np.asarray(rapid_move, bool),
    )


def outcomes_on_series(
    open_time: np.ndarray,
    values: np.ndarray,
    timeframe: str,
    decision_time: np.ndarray,
    horizon: int,
    config: OutcomeConfig,
    *,
    taken: np.ndarray | None = None,
    rapid_times: np.ndarray | None = None,
) -> OutcomeArrays:
    """Return the outcomes of decisions on one stored series (``open_time`` ascending, unique).

    ``values``: ``(m, >=4)`` open, high, low, close[, volume]. A decision reads its own candle
    (the one closing at it), the ``horizon`` after it and, for the unit, the ``vol_window``
    before it; an entry lacking its own or a horizon candle is not ``complete``.
    ``rapid_times``: when rapid moves of the series were detected (any order).
    """
    d = duration_ms(timeframe)
    t = np.asarray(decision_time, np.int64)
    ot = np.asarray(open_time, np.int64)
    # column 0 is the decision's own candle, then the horizon
    want = t[:, None] + d * np.arange(-1, horizon, dtype=np.int64)[None, :]
    rows, found = _locate(ot, want)
    complete: np.ndarray = np.all(found, axis=1)
    px = np.asarray(values, np.float64)
    safe = np.where(found, rows, 0)
    high, low, close = px[safe, 1], px[safe, 2], px[safe, 3]
    hist_want = t[:, None] + d * np.arange(-config.vol_window - 1, 0, dtype=np.int64)[None, :]
    hrows, hfound = _locate(ot, hist_want)
    hist = np.where(hfound, px[np.where(hfound, hrows, 0), 3], np.nan)
    unit = horizon_unit(hist, horizon, config.cost)
    rapid = None
    if rapid_times is not None and len(rapid_times):
        times = np.sort(np.asarray(rapid_times, np.int64))
        first = np.searchsorted(times, t, side="left")
        at = np.minimum(first, len(times) - 1)
        rapid = (first < len(times)) & (times[at] <= t + horizon * d)
    ones = np.where(complete, 1.0, np.nan)  # incomplete rows: NaN, never a number that looks real
    out = measure(
        close[:, 0] * ones,
        high[:, 1:],
        low[:, 1:],
        close[:, -1],
        unit,
        config.cost,
        taken,
        rapid,
    )
    return replace(out, complete=complete)


def _locate(sorted_times: np.ndarray, want: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the row of each wanted time in ``sorted_times`` and whether it is there."""
    if not len(sorted_times):
        return np.zeros(want.shape, np.int64), np.zeros(want.shape, bool)
    pos = np.searchsorted(sorted_times, want, side="left")
    clipped = np.minimum(pos, len(sorted_times) - 1)
    return clipped, (pos < len(sorted_times)) & (sorted_times[clipped] == want)

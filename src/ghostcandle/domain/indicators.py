"""Technical indicators: vectorised batch over a series and O(1) incremental state.

Definitions (what is implemented, and how it relates to the ``ta`` library used as the oracle):

- ``sma_N``: mean of the last N closes (N = 10, 20, 50); same as ``ta``.
- ``ema_N`` (N = 12, 26): ``y = y_prev + a (x - y_prev)`` with ``a = 2 / (N + 1)``, *seeded with
  the SMA of the first N closes* (TA-Lib's and StockCharts' convention). ``ta`` seeds with the
  first close instead (pandas ``ewm(adjust=False)``), which biases the early values; the two
  converge geometrically and agree to 1e-9 relative after the warm-up (``WARMUP``).
- ``rsi_14``: Wilder's RSI: average gain and loss seeded with the *mean of the first 14 price
  changes*, then smoothed with ``a = 1/14``; ``100`` when the average loss is 0. ``ta`` seeds the
  smoothing with a zero first change, so again it agrees only after the warm-up.
- ``atr_14``: Wilder's ATR: true range (``high - low`` for the first candle), seeded with the mean
  of the first 14 true ranges, then smoothed with ``a = 1/14``; identical to ``ta``.
- ``macd`` = ``ema_12 - ema_26``; ``macd_signal`` = the 9-period EMA of ``macd`` seeded with the
  SMA of its first 9 values; ``macd_hist`` = ``macd - macd_signal``.
- ``bb_mid/upper/lower``: ``sma_20`` ± 2 population standard deviations (ddof 0) of the last 20
  closes; same as ``ta``.

Values before an indicator has enough candles are NaN. Every value at candle ``t`` reads only
candles ``<= t``. Hand-written rather than imported because the product must not depend on
``ta`` (pandas-bound, batch only, no incremental form); ``ta`` stays the test oracle.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numpy.typing import NDArray

INDICATOR_COLUMNS: tuple[str, ...] = (
    "sma_10",
    "sma_20",
    "sma_50",
    "ema_12",
    "ema_26",
    "rsi_14",
    "atr_14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_mid",
    "bb_upper",
    "bb_lower",
)

#: Candles after which the SMA-seeded recursions agree with ``ta``'s to 1e-9 relative.
WARMUP = 500

_BLOCK = 64
FloatArray = NDArray[np.float64]


def _nan(n: int) -> FloatArray:
    return np.full(n, np.nan, dtype=np.float64)


def sma(x: FloatArray, n: int) -> FloatArray:
    """Return the simple moving average of ``x`` over ``n`` values (NaN before that)."""
    out = _nan(len(x))
    if len(x) >= n:
        out[n - 1 :] = np.lib.stride_tricks.sliding_window_view(x, n).mean(axis=1)
    return out


def rolling_std(x: FloatArray, n: int) -> FloatArray:
    """Return the population standard deviation of the last ``n`` values (NaN before that)."""
    out = _nan(len(x))
    if len(x) >= n:
        out[n - 1 :] = np.lib.stride_tricks.sliding_window_view(x, n).std(axis=1)
    return out


def smooth(x: FloatArray, alpha: float, start: int) -> FloatArray:
    """Return ``y[start] = x[start]``, ``y[t] = (1 - alpha) y[t-1] + alpha x[t]`` after it.

    Vectorised in blocks: inside a block the recursion is a lower-triangular matrix product,
    and only the carry between blocks is sequential (one step per 64 values).
    """
    n = len(x)
    out = _nan(n)
    if start >= n:
        return out
    decay = 1.0 - alpha
    out[start] = x[start]
    rest = x[start + 1 :]
    m = len(rest)
    if m == 0:
        return out
    nb = -(-m // _BLOCK)
    padded = np.zeros(nb * _BLOCK)
    padded[:m] = rest
    j = np.arange(_BLOCK)
    lag = j[:, None] - j[None, :]
    weights = np.where(lag >= 0, alpha * decay ** np.maximum(lag, 0), 0.0)
    partial = padded.reshape(nb, _BLOCK) @ weights.T
    powers = decay ** (j + 1)
    carries = np.empty(nb)
    carry = float(x[start])
    last = partial[:, -1].tolist()
    tail_power = float(powers[-1])
    for b in range(nb):
        carries[b] = carry
        carry = tail_power * carry + last[b]
    out[start + 1 :] = (partial + carries[:, None] * powers[None, :]).ravel()[:m]
    return out


def ema(x: FloatArray, n: int, first: int = 0) -> FloatArray:
    """Return the SMA-seeded EMA of ``x[first:]`` over ``n`` values (NaN before the seed)."""
    seeded = _nan(len(x))
    start = first + n - 1
    if start >= len(x):
        return seeded
    seeded[start:] = x[start:]
    seeded[start] = float(np.mean(x[first : start + 1]))
    out = smooth(seeded, 2.0 / (n + 1), start)
    return out


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Return the true range; the first candle's is ``high - low``."""
    tr = high - low
    if len(tr) > 1:
        prev = close[:-1]
        tr[1:] = np.maximum(tr[1:], np.maximum(np.abs(high[1:] - prev), np.abs(low[1:] - prev)))
    return tr


def wilder(x: FloatArray, n: int, first: int) -> FloatArray:
    """Return Wilder's smoothing of ``x[first:]``: mean of the first ``n``, then ``a = 1/n``."""
    seeded = _nan(len(x))
    start = first + n - 1
    if start >= len(x):
        return seeded
    seeded[start:] = x[start:]
    seeded[start] = float(np.mean(x[first : start + 1]))
    return smooth(seeded, 1.0 / n, start)


def rsi(close: FloatArray, n: int = 14) -> FloatArray:
    """Return Wilder's RSI (see the module doc)."""
    diff = np.zeros(len(close))
    diff[1:] = np.diff(close)
    gain = wilder(np.maximum(diff, 0.0), n, 1)
    loss = wilder(np.maximum(-diff, 0.0), n, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 - 100.0 / (1.0 + gain / loss)
    out[loss == 0.0] = 100.0
    out[np.isnan(gain)] = np.nan
    return out


def batch_indicators(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Return every indicator of a whole series as an ``(n, 13)`` array (``INDICATOR_COLUMNS``)."""
    high = np.asarray(high, dtype=np.float64)
    low = np.asarray(low, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    e12, e26 = ema(close, 12), ema(close, 26)
    macd = e12 - e26
    signal = ema(macd, 9, first=25)
    mid, sd = sma(close, 20), rolling_std(close, 20)
    cols = [
        sma(close, 10),
        mid,
        sma(close, 50),
        e12,
        e26,
        rsi(close, 14),
        wilder(true_range(high, low, close), 14, 0),
        macd,
        signal,
        macd - signal,
        mid,
        mid + 2.0 * sd,
        mid - 2.0 * sd,
    ]
    return np.column_stack(cols)


class _Seeded:
    """An SMA-seeded exponential smoother: the mean of the first ``n`` values, then ``alpha``."""

    __slots__ = ("alpha", "count", "n", "total", "value")

    def __init__(self, n: int, alpha: float) -> None:
        self.n, self.alpha = n, alpha
        self.count, self.total, self.value = 0, 0.0, math.nan

    def update(self, x: float) -> float:
        self.count += 1
        if self.count < self.n:
            self.total += x
        elif self.count == self.n:
            self.value = (self.total + x) / self.n
        else:
            self.value = (1.0 - self.alpha) * self.value + self.alpha * x
        return self.value


class IndicatorState:
    """Incremental indicators of one series: ``update`` takes one closed candle, O(1) work."""

    def __init__(self) -> None:
        self._closes: deque[float] = deque(maxlen=50)
        self._e12 = _Seeded(12, 2.0 / 13)
        self._e26 = _Seeded(26, 2.0 / 27)
        self._signal = _Seeded(9, 2.0 / 10)
        self._gain = _Seeded(14, 1.0 / 14)
        self._loss = _Seeded(14, 1.0 / 14)
        self._atr = _Seeded(14, 1.0 / 14)
        self._prev_close = math.nan

    def _sma(self, n: int) -> float:
        if len(self._closes) < n:
            return math.nan
        window = list(self._closes)[-n:]
        return sum(window) / n

    def update(self, high: float, low: float, close: float) -> tuple[float, ...]:
        """Take one closed candle; return the indicator values at it (``INDICATOR_COLUMNS``)."""
        prev = self._prev_close
        self._prev_close = close
        self._closes.append(close)
        e12, e26 = self._e12.update(close), self._e26.update(close)
        macd = e12 - e26
        signal = self._signal.update(macd) if not math.isnan(macd) else math.nan
        tr = high - low if math.isnan(prev) else max(high - low, abs(high - prev), abs(low - prev))
        atr = self._atr.update(tr)
        rsi_value = math.nan
        if not math.isnan(prev):
            change = close - prev
            gain = self._gain.update(max(change, 0.0))
            loss = self._loss.update(max(-change, 0.0))
            if not math.isnan(gain):
                rsi_value = 100.0 if loss == 0.0 else 100.0 - 100.0 / (1.0 + gain / loss)
        mid = self._sma(20)
        upper = lower = math.nan
        if not math.isnan(mid):
            window = list(self._closes)[-20:]
            mean = sum(window) / 20
            sd = math.sqrt(sum((v - mean) ** 2 for v in window) / 20)
            upper, lower = mid + 2.0 * sd, mid - 2.0 * sd
        return (
            self._sma(10),
            mid,
            self._sma(50),
            e12,
            e26,
            rsi_value,
            atr,
            macd,
            signal,
            macd - signal,
            mid,
            upper,
            lower,
        )

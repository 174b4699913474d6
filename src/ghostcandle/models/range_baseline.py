"""``vol_range``: a volatility-scaled range forecaster, its constants fitted on training data.

The next candle opens and closes at the last close; its high is the last close plus ``k_high``
times the recent upward excursion, its low the last close minus ``k_low`` times the recent
downward excursion. An excursion is how far a candle reached beyond the close before it:
``max(high - prev_close, 0)`` up and ``max(prev_close - low, 0)`` down; "recent" is their
exponentially weighted mean over the window, newest weighted most, with a half-life of
``halflife`` candles. Volume is the window's mean. The prediction at ``t`` reads only the input
window (candles closed by ``t``); the forecast is linear in prices, so the normalised windows
give exactly the price forecast.

Unfitted defaults: ``k_high = k_low = 1`` (the next excursion is the recent mean one) and a
half-life of 5 candles. ``fit_vol_range`` chooses them on training candles only: for each
half-life of a small grid, the ``k`` of each side that minimises the mean absolute error of the
next high (low) over every window of the training series whose next candle is also in it (a
weighted median, in closed form); then the half-life with the smallest error. The constants
are fitted on one timeframe's series and used for every timeframe (``k`` is scale-free).

>>> rng = np.random.default_rng(0)
>>> close = 100 + np.cumsum(rng.normal(0, 0.1, 400))
>>> up, down = rng.uniform(0.0, 0.2, 400), rng.uniform(0.0, 0.2, 400)
>>> series = np.column_stack([close, close + up, close - down, close, np.ones(400)])
>>> fit = fit_vol_range([series], window=30)
>>> fit.halflife in HALFLIVES and 0.0 < fit.k_high < 5.0 and fit.windows == 370
True
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ghostcandle.domain.errors import UserInputError
from ghostcandle.models.baselines import Baseline, row_means
from ghostcandle.models.config import ModelConfig, parse_config, positive

DEFAULT_K = 1.0
DEFAULT_HALFLIFE = 5.0
#: Half-lives (candles) the fit chooses from.
HALFLIVES: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0)


@dataclass(frozen=True, kw_only=True)
class VolRangeConfig(ModelConfig):
    """Range constants: the excursion multiple per side and the smoothing half-life."""

    k_high: float = DEFAULT_K
    k_low: float = DEFAULT_K
    halflife: float = DEFAULT_HALFLIFE


@dataclass(frozen=True)
class VolRangeFit:
    """What ``fit_vol_range`` chose, its training MAE per side and how many windows it read."""

    k_high: float
    k_low: float
    halflife: float
    mae_high: float
    mae_low: float
    windows: int


def excursions(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the up and down excursions ``(..., L-1)`` of OHLCV windows ``(..., L, 5)``."""
    prev = w[..., :-1, 3]
    up = np.maximum(w[..., 1:, 1] - prev, 0.0)
    down = np.maximum(prev - w[..., 1:, 2], 0.0)
    return up, down


@functools.lru_cache(maxsize=64)
def ewma_weights(n: int, halflife: float) -> np.ndarray:
    """Return ``n`` weights, oldest first, halving every ``halflife`` steps back; sum 1.

    Computed once per ``(n, halflife)`` (a loop tick asks every second): read-only.
    """
    w = 0.5 ** (np.arange(n - 1, -1, -1, dtype=np.float64) / halflife)
    out: np.ndarray = w / w.sum()
    out.flags.writeable = False
    return out


def _weighted_median_ratio(y: np.ndarray, e: np.ndarray) -> float:
    """Return ``k >= 0`` minimising ``sum |y - k e|`` (a median of ``y/e`` weighted by ``e``)."""
    ok = e > 0
    if not ok.any():
        return DEFAULT_K
    ratio, weight = y[ok] / e[ok], e[ok]
    order = np.argsort(ratio, kind="stable")
    cum = np.cumsum(weight[order])
    k = float(ratio[order][np.searchsorted(cum, cum[-1] / 2.0)])
    return max(k, 0.0)


def fit_vol_range(
    series: Sequence[np.ndarray], *, window: int, halflives: Sequence[float] = HALFLIVES
) -> VolRangeFit:
    """Fit the range constants on training ``series`` (each ``(n, 5)`` OHLCV, oldest first).

    Only windows whose next candle is in the same series count, so nothing after a series'
    last candle is read: give the training candles only.
    """
    if window < 2 or not halflives:
        raise UserInputError(
            f"vol_range window {window} is too short or no half-life to try: "
            "use at least 2 candles and one half-life"
        )
    ups, downs, y_up, y_down = [], [], [], []
    for raw in series:
        v = np.asarray(raw, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != 5:
            raise UserInputError(f"training series of shape {v.shape}: give (n, 5) OHLCV rows")
        if len(v) <= window:
            continue
        up, down = excursions(v)
        # window ending at row t (t = window-1 .. n-2) reads excursions t-window+1 .. t-1
        ups.append(sliding_window_view(up, window - 1)[: len(v) - window])
        downs.append(sliding_window_view(down, window - 1)[: len(v) - window])
        last = v[window - 1 : -1, 3]
        y_up.append(v[window:, 1] - last)
        y_down.append(last - v[window:, 2])
    if not ups:
        raise UserInputError(
            f"no training window of {window} candles with a next candle: give a longer series"
        )
    u, d = np.concatenate(ups), np.concatenate(downs)
    yu, yd = np.concatenate(y_up), np.concatenate(y_down)
    fits = []
    for h in halflives:
        w = ewma_weights(window - 1, h)
        eu, ed = u @ w, d @ w
        ku, kd = _weighted_median_ratio(yu, eu), _weighted_median_ratio(yd, ed)
        fits.append(
            VolRangeFit(
                k_high=ku,
                k_low=kd,
                halflife=float(h),
                mae_high=float(np.mean(np.abs(yu - ku * eu))),
                mae_low=float(np.mean(np.abs(yd - kd * ed))),
                windows=len(yu),
            )
        )
    # the first of equal errors wins: the grid order decides ties, not float noise
    return min(fits, key=lambda f: f.mae_high + f.mae_low)


class VolRange(Baseline):
    """Close and open at the last close; high and low a fitted multiple of recent excursions."""

    family = "vol_range"
    cfg: VolRangeConfig

    def _next(self, w: np.ndarray) -> np.ndarray:
        up, down = excursions(w)
        weights = ewma_weights(up.shape[1], self.cfg.halflife)
        last = w[:, -1, 3]
        out = np.empty((w.shape[0], 5))
        out[:, 0] = last
        out[:, 3] = last
        out[:, 1] = last + self.cfg.k_high * (up @ weights)
        out[:, 2] = last - self.cfg.k_low * (down @ weights)
        out[:, 4] = row_means(w[:, :, 4])
        return out

    def _probs(self, move: np.ndarray) -> np.ndarray:
        return np.full((move.shape[0], 3), 1.0 / 3.0)

    def fitted(self, series: Sequence[np.ndarray], threshold: float) -> VolRange:
        """Return a copy with constants fitted on training ``series`` of the base timeframe."""
        fit = fit_vol_range(series, window=self.windows[self.timeframes[0]])
        raw = {**self.config(), "k_high": fit.k_high, "k_low": fit.k_low}
        return make_vol_range({**raw, "halflife": fit.halflife})


def make_vol_range(raw: Mapping[str, Any]) -> VolRange:
    """Build the range baseline from keyword settings."""
    cfg = parse_config(VolRangeConfig, VolRange.family, raw)
    positive(VolRange.family, halflife=cfg.halflife)
    for name, k in (("k_high", cfg.k_high), ("k_low", cfg.k_low)):
        if not (np.isfinite(k) and k >= 0):
            raise UserInputError(f"vol_range model setting {name}={k!r} must be a number >= 0")
    return VolRange(cfg)

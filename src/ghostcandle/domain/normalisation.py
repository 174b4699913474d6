"""Per-window normalisation of OHLCV windows, with parameters that are plain floats.

A model sees each timeframe's window normalised on its own: prices relative to the window's
last close, in units of the window's typical candle range; volume in units of its mean volume.
The parameters are a ``dict[str, float]`` keyed ``"<tf>.price_ref"``, ``"<tf>.price_scale"``,
``"<tf>.volume_scale"``, produced by a pure function of the raw window, so they travel inside a
``FrameRef`` and turn a normalised prediction back into prices with ``denormalise``.

Both scales are powers of two, so scaling is exact in binary floating point; with the reference
subtracted (exact by Sterbenz's lemma for prices within a factor two of it) a round trip
``denormalise(normalise(x))`` gives back ``x`` bit for bit, and the price of a stored normalised
prediction is the same wherever and whenever it is recomputed.

>>> w = np.array([[100.0, 101.0, 99.0, 100.5, 10.0], [100.5, 102.0, 100.0, 101.0, 30.0]])
>>> p = norm_params("1m", w)
>>> p["1m.price_ref"], p["1m.price_scale"], p["1m.volume_scale"]
(101.0, 2.0, 16.0)
>>> bool((denormalise("1m", normalise("1m", w, p), p) == w).all())
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# A window whose candles all have zero range still needs a non-zero scale: use a tiny
# fraction of the price, so the (flat) input stays finite and near zero.
_MIN_RELATIVE_SCALE = 2.0**-20


def param_keys(timeframe: str) -> tuple[str, str, str]:
    """Return the three parameter names of ``timeframe``: price_ref, price_scale, volume_scale."""
    return (f"{timeframe}.price_ref", f"{timeframe}.price_scale", f"{timeframe}.volume_scale")


def _pow2(x: float) -> float:
    """Return the power of two nearest to positive ``x`` (in log scale)."""
    return float(2.0 ** round(math.log2(x)))


@dataclass(frozen=True, slots=True)
class WindowScales:
    """The normalisation parameters of a stack of windows of one timeframe, one entry each."""

    timeframe: str
    price_ref: np.ndarray
    price_scale: np.ndarray
    volume_scale: np.ndarray

    def params(self, i: int) -> dict[str, float]:
        """Return window ``i``'s parameters as ``norm_params`` gives them."""
        k_ref, k_scale, k_vol = param_keys(self.timeframe)
        return {
            k_ref: float(self.price_ref[i]),
            k_scale: float(self.price_scale[i]),
            k_vol: float(self.volume_scale[i]),
        }


def window_scales(timeframe: str, windows: np.ndarray) -> WindowScales:
    """Return the normalisation parameters of each raw window of a ``(batch, length, 5)`` stack.

    This is the normalisation rule; ``norm_params`` is it for one window. Read only each window
    itself (no look-ahead). Raise ValueError if a window is empty, not ``(length, 5)``, not
    finite, or its last close is not positive.
    """
    v = np.asarray(windows, dtype=np.float64)
    if v.ndim != 3 or v.shape[2] != 5 or v.shape[1] == 0:
        raise ValueError(
            f"{timeframe} windows have shape {v.shape}: "
            "give a (batch, length, 5) stack of non-empty OHLCV windows"
        )
    if not np.isfinite(v).all():
        raise non_finite_error(timeframe)
    ref = v[:, -1, 3].copy()
    # each mean runs along one contiguous row, as np.mean of a single window does: the same
    # pairwise sums, so a window's parameters do not depend on the batch it is computed in
    mean_range = np.ascontiguousarray(v[:, :, 1] - v[:, :, 2]).mean(axis=1)
    mean_volume = np.ascontiguousarray(v[:, :, 4]).mean(axis=1)
    return scales_of(timeframe, ref, mean_range, mean_volume)


def non_finite_error(timeframe: str) -> ValueError:
    """Return the error of a window holding NaN or inf values."""
    return ValueError(f"{timeframe} window holds NaN/inf values: drop or repair those candles")


def scales_of(
    timeframe: str, ref: np.ndarray, mean_range: np.ndarray, mean_volume: np.ndarray
) -> WindowScales:
    """Return the scales of windows with these last closes, mean ranges and mean volumes.

    The rule of ``window_scales`` once each window's figures are taken (each mean along the
    window's contiguous row, oldest first). Raise ValueError if a last close is not positive.
    """
    if (ref <= 0.0).any():
        raise _close_error(timeframe, float(ref[ref <= 0.0][0]))
    price_scale = _pow2_each(np.maximum(mean_range, ref * _MIN_RELATIVE_SCALE))
    volume_scale = np.ones_like(mean_volume)
    positive = mean_volume > 0.0
    volume_scale[positive] = _pow2_each(mean_volume[positive])
    return WindowScales(timeframe, ref, price_scale, volume_scale)


def one_window_scales(timeframe: str, v: np.ndarray) -> tuple[float, float, float]:
    """Return the price reference, price scale and volume scale of one ``(length, 5)`` window.

    ``window_scales``' rule and bits for a batch of one (tested), in a few numpy calls: a live
    tick normalises several windows, and the batch path's fixed cost (~90 µs a window) weighed
    more than its arithmetic. ``v`` is a float64 ``(length, 5)`` array with ``length >= 1``.
    """
    if not np.isfinite(v).all():
        raise non_finite_error(timeframe)
    ref = float(v[-1, 3])
    if ref <= 0.0:
        raise _close_error(timeframe, ref)
    # means along contiguous rows, as ``window_scales`` takes them
    mean_range = float(np.ascontiguousarray(v[:, 1] - v[:, 2]).mean())
    mean_volume = float(np.ascontiguousarray(v[:, 4]).mean())
    price_scale = _pow2(max(mean_range, ref * _MIN_RELATIVE_SCALE))
    return ref, price_scale, _pow2(mean_volume) if mean_volume > 0.0 else 1.0


def _close_error(timeframe: str, bad: float) -> ValueError:
    return ValueError(f"{timeframe} window ends with close {bad}: prices must be positive")


def _pow2_each(x: np.ndarray) -> np.ndarray:
    """Return ``_pow2`` of each positive entry of ``x``, bit for bit as ``_pow2`` gives it.

    ``np.log2`` may differ from ``math.log2`` in the last bit, which changes the rounding only
    for a logarithm within a hair of a half: those few entries are rounded by ``_pow2`` itself.
    """
    log = np.log2(x)
    exponent = np.rint(log)  # halves to even, as round() does
    tie = np.abs(np.abs(log - np.trunc(log)) - 0.5) < 1e-6
    if tie.any():
        exponent[tie] = [math.log2(_pow2(v)) for v in x[tie].tolist()]
    out: np.ndarray = np.ldexp(1.0, exponent.astype(np.int64))
    return out


def norm_params(timeframe: str, values: np.ndarray) -> dict[str, float]:
    """Return the normalisation parameters of one raw ``(length, 5)`` OHLCV window.

    Read only the window itself (no look-ahead). Raise ValueError if it is empty, not
    ``(length, 5)``, not finite, or its last close is not positive.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 5 or v.shape[0] == 0:
        raise ValueError(
            f"{timeframe} window has shape {v.shape}: give a non-empty (length, 5) OHLCV array"
        )
    return window_scales(timeframe, v[np.newaxis]).params(0)


def frame_norm_params(windows: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Return the parameters of every timeframe's raw window, merged into one dict."""
    out: dict[str, float] = {}
    for tf, values in windows.items():
        out.update(norm_params(tf, values))
    return out


def _lookup(timeframe: str, params: Mapping[str, float]) -> tuple[float, float, float]:
    keys = param_keys(timeframe)
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(
            f"normalisation parameters lack {', '.join(missing)}: "
            "compute them with norm_params() from the same window"
        )
    return float(params[keys[0]]), float(params[keys[1]]), float(params[keys[2]])


def normalise(timeframe: str, values: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
    """Return ``values`` (``(..., 5)`` OHLCV prices) normalised with ``params`` (float64)."""
    ref, price_scale, volume_scale = (np.float64(x) for x in _lookup(timeframe, params))
    return _scaled(np.asarray(values, dtype=np.float64), ref, price_scale, volume_scale)


def normalise_windows(windows: np.ndarray, scales: WindowScales) -> np.ndarray:
    """Return each raw window of a ``(batch, length, 5)`` stack normalised with its own scales."""
    v = np.asarray(windows, dtype=np.float64)
    return _scaled(
        v, scales.price_ref[:, None], scales.price_scale[:, None], scales.volume_scale[:, None]
    )


def _scaled(
    v: np.ndarray,
    ref: np.ndarray | np.float64,
    price_scale: np.ndarray | np.float64,
    volume_scale: np.ndarray | np.float64,
) -> np.ndarray:
    # prices (x - ref) / price_scale, volume x / volume_scale, in one pass over whole rows: the
    # volume column is shifted by zero, which leaves every float as it is
    shift = np.zeros((*np.shape(ref), 5))
    shift[..., :4] = np.expand_dims(ref, -1)
    scale = np.empty((*np.shape(ref), 5))
    scale[..., :4] = np.expand_dims(price_scale, -1)
    scale[..., 4] = volume_scale
    out: np.ndarray = np.subtract(v, shift)
    out /= scale
    return out


def denormalise_row(
    timeframe: str, row: Sequence[float], params: Mapping[str, float]
) -> tuple[float, float, float, float, float]:
    """Return one normalised OHLCV row in prices and volume: ``denormalise``'s bits, as floats.

    Plain float arithmetic, the same operations in the same order (IEEE doubles either way):
    a tick turns one row per prediction, where numpy's fixed cost weighed more than the sums.
    """
    ref, price_scale, volume_scale = _lookup(timeframe, params)
    o, h, lo, c, v = (float(x) for x in row)
    return (
        o * price_scale + ref,
        h * price_scale + ref,
        lo * price_scale + ref,
        c * price_scale + ref,
        v * volume_scale,
    )


def denormalise(timeframe: str, values: np.ndarray, params: Mapping[str, float]) -> np.ndarray:
    """Turn normalised ``(..., 5)`` OHLCV back into prices and volume (float64), exactly."""
    ref, price_scale, volume_scale = _lookup(timeframe, params)
    v = np.asarray(values, dtype=np.float64)
    out = np.empty_like(v)
    out[..., :4] = v[..., :4] * price_scale + ref
    out[..., 4] = v[..., 4] * volume_scale
    return out

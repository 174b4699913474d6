"""Scale-free features of one normalised OHLCV window: returns, excursions, ranges, volume.

A model input window (``models/inputs.py``) holds prices relative to the window's last close in
units of a power-of-two candle range, and volume in units of a power-of-two mean volume. Neither
the absolute price nor the candles' open times reach the model, so every feature here is a
ratio inside the window:

- **volatility** ``sigma``: the exponentially weighted mean candle range (``high - low``) with
  half-life ``halflife`` candles, weighted towards the last candle. Price moves are measured in
  units of it, so a feature means the same in a quiet and in a wild market, on any symbol;
- **per candle** (the last ``recent`` candles), with ``pc`` the previous candle's close: the
  close-to-close return, the excursions ``high - pc`` and ``pc - low``, the gap ``open - pc``
  (all ``asinh(x / sigma)``), the log range ``log((high - low) / sigma + 0.1)``, where the close
  sits in its range (-1 at the low, +1 at the high) and the log volume relative to the window's
  mean volume;
- **summary**: the short and long volatility against ``sigma`` (log ratios), the returns over
  the last 4 and 16 candles and the whole window (per square root of their length), the up and
  down excursions' weighted means against ``sigma``, recent volume against the window's mean,
  and where the last close sits in the window's high-low range.

Every value is computed from the window alone, oldest to newest, and clipped to ``[-CLIP,
CLIP]``, so nothing after the window can change it (tests mutate the future to prove it).

>>> w = torch.tensor([[[0.0, 1.0, -1.0, 0.5, 2.0], [0.5, 1.5, 0.0, 0.0, 1.0]]])
>>> round(float(volatility(w, halflife=1.0)[0]), 4)  # ranges 2 and 1.5, weights 1/3 and 2/3
1.6667
>>> window_features(w, recent=2, halflife=1.0).shape
torch.Size([1, 24])
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

#: Features per candle (see the module doc), and summary features per window.
PER_CANDLE = 7
SUMMARY = 10
#: Every feature is clipped to this magnitude: a single wild candle cannot saturate the net.
CLIP = 8.0
#: Volatility floor in normalised units (a window of flat candles has zero range).
SIGMA_FLOOR = 1e-4
#: Added to volumes before a log ratio (normalised volumes are ~1): zero volume stays finite.
VOLUME_EPS = 1e-3


@functools.lru_cache(maxsize=64)
def _weights(
    n: int, halflives: tuple[float, ...], dtype: torch.dtype, device: torch.device
) -> Tensor:
    """Return ``(n, len(halflives))`` weights, oldest row first, each column summing to 1."""
    # built outside inference mode: the cached tensor is shared by predict and training
    with torch.inference_mode(False):
        ages = torch.arange(n - 1, -1, -1, dtype=torch.float64)
        cols = [torch.pow(0.5, ages / float(h)) for h in halflives]
        w = torch.stack([c / c.sum() for c in cols], dim=1)
        return w.to(dtype=dtype, device=device)


def ewma(x: Tensor, halflife: float) -> Tensor:
    """Return the weighted mean of ``(B, n)`` values along time, the last weighted most."""
    return (x @ _weights(x.shape[1], (float(halflife),), x.dtype, x.device))[:, 0]


def previous_close(w: Tensor) -> Tensor:
    """Return each candle's previous close ``(B, n)``; the first candle uses its own open."""
    return torch.cat([w[:, :1, 0], w[:, :-1, 3]], dim=1)


def volatility(w: Tensor, halflife: float) -> Tensor:
    """Return ``sigma`` ``(B,)``: the weighted mean range of ``(B, n, 5)`` windows, floored."""
    return ewma(w[:, :, 1] - w[:, :, 2], halflife).clamp_min(SIGMA_FLOOR)


def mean_volume(w: Tensor) -> Tensor:
    """Return the window's mean volume ``(B,)``, the level relative volume is measured against."""
    return w[:, :, 4].mean(dim=1)


def log_volume_ratio(v: Tensor, level: Tensor) -> Tensor:
    """Return ``log((v + eps) / (level + eps))``: volume relative to a level, zero-safe."""
    return torch.log((v.clamp_min(0.0) + VOLUME_EPS) / (level.clamp_min(0.0) + VOLUME_EPS))


def _per_candle(w: Tensor, pc: Tensor, sigma: Tensor, level: Tensor) -> Tensor:
    s = sigma[:, None]
    o, h, lo, c, v = w.unbind(dim=2)
    rng = h - lo
    moves = torch.asinh(torch.stack([c - pc, h - pc, pc - lo, o - pc], dim=2) / s[:, :, None])
    rest = torch.stack(
        [
            torch.log(rng / s + 0.1),
            ((c - lo) - (h - c)) / (rng + SIGMA_FLOOR),
            log_volume_ratio(v, level[:, None]),
        ],
        dim=2,
    )
    return torch.cat([moves, rest], dim=2)


def _summary(w: Tensor, pc: Tensor, halflife: float) -> tuple[Tensor, Tensor, Tensor]:
    """Return the summary features, ``sigma`` and the volume level of full windows."""
    n = w.shape[1]
    h, lo, c, v = w[:, :, 1], w[:, :, 2], w[:, :, 3], w[:, :, 4]
    series = torch.stack([h - lo, (h - pc).clamp_min(0.0), (pc - lo).clamp_min(0.0), v], dim=2)
    # weighted means at the half-life and at a quarter of it, all series in one product
    m = torch.einsum(
        "bns,nk->bsk", series, _weights(n, (halflife, max(halflife / 4, 1.0)), w.dtype, w.device)
    )
    sigma = m[:, 0, 0].clamp_min(SIGMA_FLOOR)
    level = v.mean(dim=1)
    last = c[:, -1]
    spans = [max(1, min(k, n - 1)) for k in (4, 16, n - 1)]
    k = torch.tensor(spans, dtype=w.dtype, device=w.device)
    back = c[:, [-1 - s for s in spans]]
    cols = [
        torch.log(m[:, 0, 1].clamp_min(SIGMA_FLOOR) / sigma),
        torch.log((h - lo).mean(dim=1).clamp_min(SIGMA_FLOOR) / sigma),
        *torch.asinh((last[:, None] - back) / sigma[:, None] / k.sqrt()).unbind(dim=1),
        torch.log(m[:, 1, 0].clamp_min(SIGMA_FLOOR) / sigma),
        torch.log(m[:, 2, 0].clamp_min(SIGMA_FLOOR) / sigma),
        log_volume_ratio(m[:, 3, 1], level),
        log_volume_ratio(m[:, 3, 0], level),
    ]
    top, bottom = h.amax(dim=1), lo.amin(dim=1)
    cols.append(((last - bottom) - (top - last)) / (top - bottom + SIGMA_FLOOR))
    return torch.stack(cols, dim=1), sigma, level


def window_features(w: Tensor, recent: int, halflife: float) -> Tensor:
    """Return the features of ``(B, n, 5)`` windows: ``(B, recent * PER_CANDLE + SUMMARY)``.

    ``recent`` (at most ``n``) is how many of the last candles are described one by one.
    """
    return features_and_scales(w, recent, halflife)[0]


def features_and_scales(w: Tensor, recent: int, halflife: float) -> tuple[Tensor, Tensor, Tensor]:
    """Return ``window_features`` with the windows' ``volatility`` and ``mean_volume``."""
    if w.ndim != 3 or w.shape[2] != 5 or w.shape[1] < 2:
        raise ValueError(f"windows have shape {tuple(w.shape)}: give (batch, >= 2, 5)")
    pc = previous_close(w)
    summary, sigma, level = _summary(w, pc, halflife)
    k = min(recent, w.shape[1])
    per = _per_candle(w[:, -k:], pc[:, -k:], sigma, level)
    out = torch.cat([per.reshape(w.shape[0], -1), summary], dim=1)
    return torch.nan_to_num(out, nan=0.0).clamp(-CLIP, CLIP), sigma, level


def feature_size(recent: int, length: int) -> int:
    """Return how many features ``window_features`` gives for a window of ``length`` candles."""
    return min(recent, length) * PER_CANDLE + SUMMARY

"""Heads that forecast the next candle relative to recent volatility, their loss, and abstaining.

Per timeframe the net gives four raw values; with ``c`` the window's last close, ``sigma`` its
volatility (``features.volatility``) and ``level`` its mean volume, the next candle is

- open ``= c`` (a candle opens where the last one closed);
- close ``= c + r * sigma`` (``r`` free: the median return in units of ``sigma``, near 0);
- high ``= max(open, close, c + up * sigma)``, low ``= min(open, close, c - down * sigma)``, with
  the excursions ``up, down = softplus(raw) >= 0``;
- volume ``= (level + eps) * exp(lv) - eps`` (``lv`` the log volume ratio), floored at 0.

so every forecast is a valid candle. Each head is trained with the pinball loss at
``QUANTILE`` (0.5: the median, which minimises the absolute error the forecasts are scored by)
on the matching target: the actual return, excursions and log volume ratio in the same units.

The action head is trained with cross-entropy on the labels it is given (the engine's cost-aware
labels) and **abstains**: a BUY or SELL whose probability is below ``min_confidence`` becomes
HOLD (flat) by moving just enough probability onto HOLD that HOLD leads (``abstain``).

>>> float(pinball(torch.tensor([1.0]), torch.tensor([0.0]), 0.5))  # under-forecast by 1
0.5
>>> p = abstain(torch.tensor([[0.3, 0.45, 0.25], [0.2, 0.7, 0.1]]), 0.5)
>>> p.argmax(dim=1).tolist()  # the 0.45 BUY abstains, the 0.7 BUY stands
[0, 1]
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor
from torch.nn import functional

from ghostcandle.models.features import VOLUME_EPS, log_volume_ratio, mean_volume, volatility
from ghostcandle.models.losses import known_targets, weighted_mean, with_action_loss

#: The quantile every candle head forecasts (the median).
QUANTILE = 0.5
#: How far HOLD leads after an abstention (so argmax picks it despite rounding).
_LEAD = 1e-6


def pinball(target: Tensor, forecast: Tensor, quantile: float) -> Tensor:
    """Return the elementwise pinball (quantile) loss of ``forecast`` for ``target``."""
    diff = target - forecast
    return torch.maximum(quantile * diff, (quantile - 1.0) * diff)


class Scales:
    """The per-window reference values the heads are expressed in (all ``(B,)``)."""

    def __init__(self, close: Tensor, sigma: Tensor, level: Tensor) -> None:
        self.close = close
        self.sigma = sigma
        self.level = level

    @classmethod
    def of(cls, window: Tensor, halflife: float) -> Scales:
        """Return the scales of ``(B, n, 5)`` windows."""
        return cls(window[:, -1, 3], volatility(window, halflife), mean_volume(window))

    def candle(self, raw: Tensor) -> Tensor:
        """Turn raw head outputs ``(B, 4)`` into a valid normalised candle ``(B, 5)``."""
        c, s = self.close, self.sigma
        close = c + raw[:, 0] * s
        high = torch.maximum(torch.maximum(c, close), c + functional.softplus(raw[:, 1]) * s)
        low = torch.minimum(torch.minimum(c, close), c - functional.softplus(raw[:, 2]) * s)
        volume = ((self.level + VOLUME_EPS) * torch.exp(raw[:, 3].clamp(max=20.0))) - VOLUME_EPS
        return torch.stack([c, high, low, close, volume.clamp_min(0.0)], dim=1)

    def targets(self, candle: Tensor) -> Tensor:
        """Return the head targets ``(B, 4)`` of actual normalised next candles ``(B, 5)``."""
        c, s = self.close, self.sigma
        return torch.stack(
            [
                (candle[:, 3] - c) / s,
                (candle[:, 1] - c) / s,
                (c - candle[:, 2]) / s,
                log_volume_ratio(candle[:, 4], self.level),
            ],
            dim=1,
        )

    def forecasts(self, raw: Tensor) -> Tensor:
        """Return the head forecasts ``(B, 4)`` in the units of ``targets``."""
        return torch.stack(
            [raw[:, 0], functional.softplus(raw[:, 1]), functional.softplus(raw[:, 2]), raw[:, 3]],
            dim=1,
        )


def excursion_losses(
    raw: Mapping[str, Tensor],
    scales: Mapping[str, Scales],
    logits: Tensor,
    targets: Mapping[str, Tensor],
    actions: Tensor,
    weights: Tensor | None,
    action_weight: float,
) -> dict[str, Tensor]:
    """Return the loss parts of a labelled batch and their sum under ``"loss"``.

    ``candle.<tf>``: the mean pinball loss of the four heads over rows whose target is known
    (finite); ``action``: cross-entropy over labelled rows (``actions >= 0``) times
    ``action_weight``. Raise ValueError if the batch labels nothing.
    """
    parts: dict[str, Tensor] = {}
    for tf, target, known in known_targets(targets, raw):
        y = scales[tf].targets(torch.nan_to_num(target))
        per_sample = pinball(y, scales[tf].forecasts(raw[tf]), QUANTILE).mean(dim=1)
        w = None if weights is None else weights[known]
        parts[f"candle.{tf}"] = weighted_mean(per_sample[known], w)
    return with_action_loss(parts, logits, actions, weights, action_weight)


def abstain(probs: Tensor, min_confidence: float) -> Tensor:
    """Return ``(B, 3)`` HOLD/BUY/SELL probabilities where unsure trades become HOLD.

    A row whose most probable action is BUY or SELL with probability below ``min_confidence``
    is mixed with certainty of HOLD, ``(1 - a) p + a e_HOLD``, with the least ``a`` that puts
    HOLD ahead; every other row is returned as it is.
    """
    top, which = probs.max(dim=1)
    hold = probs[:, 0]
    unsure = (which != 0) & (top < min_confidence)
    gap = top - hold + _LEAD
    a = torch.where(unsure, gap / (1.0 + gap), torch.zeros_like(gap))[:, None]
    mixed = (1.0 - a) * probs
    mixed[:, 0] += a[:, 0]
    return mixed

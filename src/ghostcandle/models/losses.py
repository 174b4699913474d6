"""Heads and losses shared by the learning families (torch)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import torch
from torch import Tensor
from torch.nn import functional


def candle_from_raw(raw: Tensor) -> Tensor:
    """Turn raw head outputs ``(B, 5)`` into a valid normalised candle.

    Open and close are free; high sits above ``max(open, close)`` and low below
    ``min(open, close)`` by a softplus margin; volume is a softplus, so it is never negative.
    """
    o, c = raw[:, 0], raw[:, 3]
    h = torch.maximum(o, c) + functional.softplus(raw[:, 1])
    lo = torch.minimum(o, c) - functional.softplus(raw[:, 2])
    v = functional.softplus(raw[:, 4])
    return torch.stack([o, h, lo, c, v], dim=1)


def weighted_mean(per_sample: Tensor, weights: Tensor | None) -> Tensor:
    """Return the mean of ``per_sample``, weighted by ``weights`` if given."""
    if weights is None:
        return per_sample.mean()
    return (per_sample * weights).sum() / weights.sum().clamp_min(1e-12)


def known_targets(
    targets: Mapping[str, Tensor], timeframes: Iterable[str]
) -> Iterator[tuple[str, Tensor, Tensor]]:
    """Yield ``(timeframe, target, known)`` for each of ``timeframes`` with a known target row.

    ``known`` marks the rows whose target is finite; a timeframe without a target, or with none
    known, is skipped.
    """
    for tf in timeframes:
        target = targets.get(tf)
        if target is None:
            continue
        known = torch.isfinite(target).all(dim=1)
        if bool(known.any()):
            yield tf, target, known


def with_action_loss(
    parts: dict[str, Tensor],
    logits: Tensor,
    actions: Tensor,
    weights: Tensor | None,
    action_weight: float,
) -> dict[str, Tensor]:
    """Add the action loss and the sum of all parts (``"loss"``) to the candle losses ``parts``.

    The action loss is cross-entropy over labelled rows (``actions >= 0``) times
    ``action_weight``. Raise ValueError if there is nothing to learn at all.
    """
    labelled = actions >= 0
    if bool(labelled.any()):
        per_sample = functional.cross_entropy(logits[labelled], actions[labelled], reduction="none")
        w = None if weights is None else weights[labelled]
        parts["action"] = weighted_mean(per_sample, w) * action_weight
    if not parts:
        raise ValueError(
            "training batch has no known target candle and no action label: nothing to learn"
        )
    parts["loss"] = torch.stack(list(parts.values())).sum()
    return parts


def supervised_losses(
    candles: Mapping[str, Tensor],
    logits: Tensor,
    targets: Mapping[str, Tensor],
    actions: Tensor,
    weights: Tensor | None,
    action_weight: float,
) -> dict[str, Tensor]:
    """Return the loss components of a labelled batch and their sum under ``"loss"``.

    Candle losses are Huber over the five normalised values, only on rows whose target is
    known (finite); the action loss is cross-entropy over labelled rows (``actions >= 0``).
    Raise ValueError if the batch labels nothing.
    """
    parts: dict[str, Tensor] = {}
    for tf, target, known in known_targets(targets, candles):
        pred = candles[tf]
        per_sample = functional.smooth_l1_loss(pred[known], target[known], reduction="none").mean(
            dim=1
        )
        parts[f"candle.{tf}"] = weighted_mean(
            per_sample, None if weights is None else weights[known]
        )
    return with_action_loss(parts, logits, actions, weights, action_weight)

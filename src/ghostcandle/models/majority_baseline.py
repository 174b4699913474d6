"""``majority``: the majority-class action baseline, its label frequencies fitted on the past.

It advises the action whose cost-aware label (``domain.actions``: the move of the close net of
round-trip costs) was most frequent, with probabilities equal to the label frequencies; its
candle forecast is persistence (the next candle is the last one).

The model interface shows a model only normalised windows and never the resolved labels, and a
normalised window does not hold the price level a relative move needs. So the frequencies are
counted on training candles, before use: ``fit_majority`` labels every move from one close to
the next inside the series it is given (both closes in it), and the counts become part of the
model's config. A session fits it on the candles closed by its start (``fitted``), so at any
time ``t`` it knows only labels resolved by ``t``. Unfitted, the counts are zero and the
probabilities uniform (HOLD by the tie order HOLD, BUY, SELL).

>>> closes = np.array([100.0, 100.5, 100.4, 100.45, 99.9])
>>> series = np.column_stack([closes, closes, closes, closes, np.ones(5)])
>>> fit_majority([series], threshold=0.002)  # +0.5% BUY, -0.1% HOLD, +0.05% HOLD, -0.55% SELL
(2, 1, 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghostcandle.domain.actions import actions_from_moves
from ghostcandle.domain.errors import UserInputError
from ghostcandle.models.baselines import Baseline
from ghostcandle.models.config import ModelConfig, parse_config

Counts = tuple[int, int, int]


@dataclass(frozen=True, kw_only=True)
class MajorityConfig(ModelConfig):
    """Label counts seen in training, in the order HOLD, BUY, SELL (all zero: unfitted)."""

    counts: Counts = (0, 0, 0)


def fit_majority(series: Sequence[np.ndarray], *, threshold: float) -> Counts:
    """Count the cost-aware labels of every close-to-close move inside each ``(n, 5)`` series."""
    counts = np.zeros(3, dtype=np.int64)
    for raw in series:
        v = np.asarray(raw, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != 5:
            raise UserInputError(f"training series of shape {v.shape}: give (n, 5) OHLCV rows")
        if len(v) < 2:
            continue
        labels = actions_from_moves(v[:-1, 3], v[1:, 3], threshold)
        counts += np.bincount(labels, minlength=3)
    return int(counts[0]), int(counts[1]), int(counts[2])


class Majority(Baseline):
    """Persistence candles; the action distribution of the labels seen in training."""

    family = "majority"
    cfg: MajorityConfig

    def _next(self, w: np.ndarray) -> np.ndarray:
        return w[:, -1, :].copy()

    def _probs(self, move: np.ndarray) -> np.ndarray:
        counts = np.asarray(self.cfg.counts, dtype=np.float64)
        total = counts.sum()
        freq = counts / total if total > 0 else np.full(3, 1.0 / 3.0)
        return np.tile(freq, (move.shape[0], 1))

    def fitted(self, series: Sequence[np.ndarray], threshold: float) -> Majority:
        """Return a copy whose counts are those of training ``series`` (base timeframe)."""
        counts = fit_majority(series, threshold=threshold)
        return make_majority({**self.config(), "counts": counts})


def make_majority(raw: Mapping[str, Any]) -> Majority:
    """Build the majority baseline from keyword settings (``counts``: three whole numbers)."""
    values = dict(raw)
    if "counts" in values:
        counts = values["counts"]
        try:
            parsed = tuple(int(c) for c in counts)
        except (TypeError, ValueError):
            parsed = ()
        if len(parsed) != 3 or min(parsed) < 0 or parsed != tuple(counts):
            raise UserInputError(
                f"majority model setting counts={counts!r} must be three whole numbers >= 0 "
                "(HOLD, BUY, SELL)"
            )
        values["counts"] = parsed
    return Majority(parse_config(MajorityConfig, Majority.family, values))

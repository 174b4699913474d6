"""Training priority of a sample, from its validated outcome: profitability, rarity, rapid moves.

::

    priority = (eps + profitability) ** a  x  rarity(label)  x  (1 + b x rapid_move)

- ``profitability`` in [0, 1] is the outcome's score (``domain.outcomes``: 0.5 for a setup that
  just paid its costs). ``eps`` (0.05) keeps a losing setup in play: it is still a lesson.
  ``a`` (2) sharpens the preference: a setup scoring 0.9 weighs ``(0.95 / 0.55)^2 = 3.0`` times
  one scoring 0.5.
- ``rarity(label) = min(max_rarity, (N / (K x n_label)) ** g)`` over the pool being sampled
  (``N`` samples, ``K`` labels present, ``n_label`` of this one), ``g = 0.5``: balanced classes
  weigh 1, a class four times rarer than balanced weighs 2, capped at ``max_rarity`` (10).
- ``rapid_move``: the outcome's horizon held a detected rapid move (or the decision's frame
  shows one); with ``b = 1`` such a premium sample counts double.

Profit-weighted replay samples ``i`` with probability ``priority_i^alpha / sum_j
priority_j^alpha`` (``sampler``). The pool is only ever built from outcomes known by the time
of sampling, so a priority never uses an outcome from the future.

>>> p = priorities(np.array([0.5, 0.9]), np.array([0, 1]), np.array([False, True]))
>>> [round(float(x), 4) for x in p]
[0.3025, 1.805]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ghostcandle.domain.errors import UserInputError


@dataclass(frozen=True, kw_only=True)
class PriorityConfig:
    """The constants of the priority formula (see the module doc)."""

    eps: float = 0.05
    exponent: float = 2.0
    rarity_power: float = 0.5
    max_rarity: float = 10.0
    rapid_bonus: float = 1.0

    def __post_init__(self) -> None:
        for name in ("eps", "exponent", "rarity_power", "rapid_bonus"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise UserInputError(f"priority {name} {v!r} must be a number >= 0")
        if not (math.isfinite(self.max_rarity) and self.max_rarity >= 1):
            raise UserInputError(f"priority max_rarity {self.max_rarity!r} must be >= 1")
        if self.eps == 0 and self.exponent > 0:
            # a profitability of exactly 0 would then never be drawn, and its weight is infinite
            raise UserInputError("priority eps must be > 0 so that every sample can be drawn")


def rarity(labels: np.ndarray, config: PriorityConfig | None = None) -> np.ndarray:
    """Return each sample's rarity weight from how often its label occurs in ``labels``."""
    cfg = config or PriorityConfig()
    lab = np.asarray(labels)
    if not len(lab):
        return np.zeros(0)
    kinds, inverse, counts = np.unique(lab, return_inverse=True, return_counts=True)
    balanced = len(lab) / (len(kinds) * counts.astype(np.float64))
    out: np.ndarray = np.minimum(cfg.max_rarity, balanced**cfg.rarity_power)[inverse]
    return out


def priorities(
    profitability: np.ndarray,
    labels: np.ndarray,
    rapid_move: np.ndarray,
    config: PriorityConfig | None = None,
) -> np.ndarray:
    """Return the training priority of each sample of a pool (float64, all > 0)."""
    cfg = config or PriorityConfig()
    prof = np.clip(np.asarray(profitability, np.float64), 0.0, 1.0)
    bonus = 1.0 + cfg.rapid_bonus * np.asarray(rapid_move, bool)
    out: np.ndarray = (cfg.eps + prof) ** cfg.exponent * rarity(labels, cfg) * bonus
    return out

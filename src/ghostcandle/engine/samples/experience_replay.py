"""Prioritised, profit-weighted experience replay for an acting agent (the DQN), by reference.

An experience is a transition of the agent: the state (a decision's frame, by reference: a row
of the dataset or a sample's frame, never a copy of candles) with the position held, the action
taken, its (n-step) reward, the next state and position, and the discount to bootstrap with.
They sit in a ring buffer of ``capacity`` slots (the oldest is overwritten first) and are drawn
with probability proportional to their priority, kept in a ``SumTree`` (``sampler``):

::

    priority_i = ( (|delta_i| + eps) ** (1 - mix)  x  q_i ** mix ) ** alpha

- ``delta_i``: the experience's last TD error (prioritised experience replay, Schaul et al.
  2016); a new experience gets the largest ``|delta|`` seen so far, so it is drawn at least
  about once before its own error is known;
- ``q_i``: the training-data system's priority of its decision (``priority.priorities``:
  profitability of the setup, label rarity, rapid moves), known by the time of sampling;
- ``mix`` in [0, 1] (default 0.3): 0 is pure PER, 1 draws by profitability alone. The mix is
  geometric, so neither scale (TD errors in reward units, priorities around 1) swamps the other.

Importance weights ``w_i = (N x P(i)) ** -beta / max_j w_j`` (``N`` experiences stored; the max
over the whole buffer, from a min-tree of the priorities, so batches compare) correct the bias
of drawing by priority; ``beta`` is annealed from its start to 1 over training
(``sampler.beta_schedule``). A non-finite reward or discount is refused on entry and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghostcandle.domain.errors import UserInputError
from ghostcandle.engine.samples.sampler import SumTree


@dataclass(frozen=True, kw_only=True)
class PerSettings:
    """Buffer size and the priority's constants (see the module doc)."""

    capacity: int = 100_000
    alpha: float = 0.6
    beta: float = 0.4
    mix: float = 0.3
    eps: float = 0.01

    def check(self) -> PerSettings:
        """Return self if usable, else raise a one-line ``UserInputError`` naming the setting."""
        if self.capacity < 1:
            raise UserInputError(f"replay capacity {self.capacity} must be at least 1")
        for name, lo, hi in (("alpha", 0.0, 10.0), ("beta", 0.0, 1.0), ("mix", 0.0, 1.0)):
            v = getattr(self, name)
            if not (math.isfinite(v) and lo <= v <= hi):
                raise UserInputError(f"replay {name} {v!r} is not in [{lo:g}, {hi:g}]")
        if not (math.isfinite(self.eps) and self.eps > 0):
            raise UserInputError(f"replay eps {self.eps!r} must be > 0 so every experience draws")
        return self

    def to_json(self) -> dict[str, Any]:
        """Return the settings as plain JSON values."""
        return {"capacity": self.capacity, "alpha": self.alpha, "beta": self.beta,
                "mix": self.mix, "eps": self.eps}  # fmt: skip


class MinTree:
    """Minimums of leaf values over a complete binary tree (empty leaves are +inf)."""

    def __init__(self, capacity: int) -> None:
        self.leaves = 1 << (max(1, capacity) - 1).bit_length()
        self.depth = self.leaves.bit_length() - 1
        self._tree = np.full(2 * self.leaves, np.inf)

    @property
    def min(self) -> float:
        """Return the smallest leaf (+inf when all are empty)."""
        return float(self._tree[1])

    def update(self, indices: np.ndarray, values: np.ndarray) -> None:
        """Set leaves ``indices`` to ``values`` and recompute their ancestors."""
        t = self._tree
        nodes = np.asarray(indices, np.int64) + self.leaves
        t[nodes] = values
        for _ in range(self.depth):
            nodes = np.unique(nodes // 2)
            t[nodes] = np.minimum(t[2 * nodes], t[2 * nodes + 1])


@dataclass(frozen=True)
class Experiences:
    """A batch of transitions by reference (one entry per experience)."""

    state: np.ndarray
    position: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_state: np.ndarray
    next_position: np.ndarray
    discount: np.ndarray
    #: the training-data system's priority of the decision (> 0)
    profit_priority: np.ndarray

    def __len__(self) -> int:
        return len(self.state)

    def take(self, keep: np.ndarray) -> Experiences:
        """Return the experiences at ``keep`` (indices or a mask)."""
        return Experiences(*(np.asarray(getattr(self, f))[keep] for f in _FIELDS))


_FIELDS = ("state", "position", "action", "reward", "next_state", "next_position", "discount",
           "profit_priority")  # fmt: skip
_DTYPES = (np.int64, np.int8, np.int64, np.float64, np.int64, np.int8, np.float64, np.float64)


class ExperienceReplay:
    """A ring buffer of experiences drawn by mixed TD and profitability priority."""

    def __init__(self, settings: PerSettings | None = None, *, seed: int | list[int] = 0) -> None:
        self.settings = (settings or PerSettings()).check()
        cap = self.settings.capacity
        self._data = {f: np.zeros(cap, dtype=d) for f, d in zip(_FIELDS, _DTYPES, strict=True)}
        self._td = np.zeros(cap)
        self._sum = SumTree(cap)
        self._min = MinTree(cap)
        self._next = 0
        self.size = 0
        self.max_td = 1.0
        self.rejected = 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def _priority(self, td: np.ndarray, profit: np.ndarray) -> np.ndarray:
        s = self.settings
        mixed = (np.abs(td) + s.eps) ** (1.0 - s.mix) * np.asarray(profit, np.float64) ** s.mix
        out: np.ndarray = mixed**s.alpha
        return out

    def add(self, exp: Experiences) -> np.ndarray:
        """Store ``exp`` (non-finite ones refused and counted); return the slots written."""
        ok = (
            np.isfinite(exp.reward)
            & np.isfinite(exp.discount)
            & np.isfinite(exp.profit_priority)
            & (np.asarray(exp.profit_priority) > 0)
        )
        self.rejected += int((~ok).sum())
        exp = exp.take(ok)
        n = len(exp)
        cap = self.settings.capacity
        if n > cap:  # only the newest fit
            exp, n = exp.take(np.arange(n - cap, n)), cap
        slots = (self._next + np.arange(n)) % cap
        for f in _FIELDS:
            self._data[f][slots] = getattr(exp, f)
        self._td[slots] = self.max_td
        self._set(slots)
        self._next = int((self._next + n) % cap)
        self.size = min(cap, self.size + n)
        return slots

    def _set(self, slots: np.ndarray) -> None:
        p = self._priority(self._td[slots], self._data["profit_priority"][slots])
        self._sum.update(slots, p)
        self._min.update(slots, p)

    def probabilities(self) -> np.ndarray:
        """Return each slot's draw probability (0 for empty slots)."""
        out: np.ndarray = self._sum.values() / self._sum.total
        return out

    def sample(self, k: int, beta: float) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``k`` slots (with replacement); return them and their importance weights."""
        if self.size == 0:
            raise ValueError("the replay buffer is empty: add experiences before sampling")
        slots = self._sum.sample(k, self.rng)
        total = self._sum.total
        w = (self.size * self._sum.leaf(slots) / total) ** -beta
        w_max = (self.size * self._min.min / total) ** -beta
        return slots, (w / w_max).astype(np.float32)

    def update_td(self, slots: np.ndarray, td_abs: np.ndarray) -> None:
        """Give ``slots`` their new |TD errors| (non-finite ones are left as they were)."""
        td = np.abs(np.asarray(td_abs, np.float64))
        ok = np.isfinite(td)
        slots, td = np.asarray(slots, np.int64)[ok], td[ok]
        if not len(slots):
            return
        self._td[slots] = td
        self.max_td = max(self.max_td, float(td.max()))
        self._set(slots)

    def get(self, slots: np.ndarray) -> Experiences:
        """Return the experiences stored in ``slots``."""
        return Experiences(*(self._data[f][slots] for f in _FIELDS))

    def stored(self) -> Experiences:
        """Return every stored experience, oldest slot first."""
        order = (self._next + np.arange(self.size)) % self.settings.capacity
        if self.size < self.settings.capacity:
            order = np.arange(self.size)
        return self.get(order)

"""Proportional sampling over a sum-tree, with importance weights; the top setups.

``SumTree`` keeps non-negative values in the leaves of a complete binary tree whose every node
holds the sum of its two children, in one numpy array (node ``i`` has children ``2i`` and
``2i + 1``; the root is ``1``). Setting ``k`` leaves costs ``O(k log n)`` (only their ancestors
are summed again, a level at a time) and drawing ``k`` leaves with probability proportional to
their value costs ``O(k log n)``: a uniform ``u`` in ``[0, total)`` walks down from the root,
left while ``u`` is below the left sum, else right with the left sum taken off.

``ProportionalSampler`` draws ``i`` with ``P(i) = p_i^alpha / sum_j p_j^alpha`` and returns the
importance weights ``w_i = (N x P(i))^-beta / max_j w_j`` (``N``: samples with a priority above
0; the max over the whole pool, so weights of different batches compare). They correct the bias
of drawing some samples more often: with ``beta = 1`` a weighted loss is, in expectation, the
uniform one. ``beta_schedule`` anneals ``beta`` from its start to 1 over a fit.

``top_setups`` keeps the samples whose profitability is at least a minimum, best first.

>>> tree = SumTree.from_values(np.array([1.0, 0.0, 3.0]))
>>> float(tree.total), tree.find(np.array([0.5, 1.0, 3.9])).tolist()
(4.0, [0, 2, 2])
"""

from __future__ import annotations

import numpy as np

from ghostcandle.domain.errors import UserInputError


class SumTree:
    """Sums of non-negative leaf values over a complete binary tree (see the module doc)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"a sum-tree needs at least one leaf, got {capacity}")
        self.capacity = capacity
        #: leaves in the bottom level (a power of two); leaf ``i`` is node ``leaves + i``
        self.leaves = 1 << (capacity - 1).bit_length()
        self.depth = self.leaves.bit_length() - 1
        self._tree = np.zeros(2 * self.leaves, dtype=np.float64)

    @classmethod
    def from_values(cls, values: np.ndarray) -> SumTree:
        """Return a tree over ``values`` (built bottom-up in ``O(n)``)."""
        v = _checked(values)
        tree = cls(max(1, len(v)))
        t, n = tree._tree, tree.leaves
        t[n : n + len(v)] = v
        width = n // 2
        while width >= 1:
            nodes = np.arange(width, 2 * width)
            t[nodes] = t[2 * nodes] + t[2 * nodes + 1]
            width //= 2
        return tree

    @property
    def total(self) -> float:
        """Return the sum of every leaf."""
        return float(self._tree[1])

    def values(self) -> np.ndarray:
        """Return a copy of the leaf values."""
        out: np.ndarray = self._tree[self.leaves : self.leaves + self.capacity].copy()
        return out

    def leaf(self, indices: np.ndarray) -> np.ndarray:
        """Return the values of leaves ``indices`` (``O(k)``)."""
        out: np.ndarray = self._tree[np.asarray(indices, np.int64) + self.leaves]
        return out

    def update(self, indices: np.ndarray, values: np.ndarray) -> None:
        """Set leaves ``indices`` to ``values`` and re-sum their ancestors (last one wins)."""
        idx = np.asarray(indices, np.int64)
        if not len(idx):
            return
        if idx.min() < 0 or idx.max() >= self.capacity:
            raise IndexError(f"leaf index out of 0..{self.capacity - 1}")
        t = self._tree
        nodes = idx + self.leaves
        t[nodes] = _checked(np.broadcast_to(values, idx.shape))
        for _ in range(self.depth):
            nodes = np.unique(nodes // 2)
            t[nodes] = t[2 * nodes] + t[2 * nodes + 1]

    def find(self, u: np.ndarray) -> np.ndarray:
        """Return the leaf where each prefix sum ``u`` in ``[0, total)`` falls."""
        t = self._tree
        rest = np.array(u, np.float64)
        node = np.ones(len(rest), np.int64)
        # in place: at a batch of 32, numpy's per-call cost is the whole cost of a level
        for _ in range(self.depth):
            node <<= 1  # the left child
            left_sum = t[node]
            right = rest >= left_sum
            # rounding can leave u a hair above a subtree's sum: never step into a zero subtree
            right &= t[node + 1] > 0
            rest -= left_sum * right
            node += right
        out: np.ndarray = node - self.leaves
        return out

    def sample(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``k`` leaves, each with probability value / total (with replacement)."""
        if self.total <= 0:
            raise ValueError("cannot sample from a sum-tree whose leaves are all 0")
        return self.find(rng.random(k) * self.total)


class ProportionalSampler:
    """Draw pool positions with ``P(i)`` proportional to ``priority_i ** alpha``."""

    def __init__(self, priorities: np.ndarray, *, alpha: float, seed: int | list[int] = 0) -> None:
        self.alpha = float(alpha)
        self.rng = np.random.default_rng(seed)
        self.tree = SumTree.from_values(np.asarray(priorities, np.float64) ** self.alpha)
        self._refresh_min()

    def _refresh_min(self) -> None:
        """Count the drawable positions and find the smallest drawable value (``O(n)``)."""
        v = self.tree.values()
        pos = v[v > 0]
        self.count = len(pos)
        self._min = float(pos.min()) if len(pos) else 0.0

    def probabilities(self) -> np.ndarray:
        """Return every position's draw probability."""
        out: np.ndarray = self.tree.values() / self.tree.total
        return out

    def update(self, positions: np.ndarray, priorities: np.ndarray) -> None:
        """Give ``positions`` new priorities (e.g. once newer outcomes are known).

        ``O(k log n)``; only when the smallest drawable value itself grows or leaves is the
        whole pool scanned again for the new smallest.
        """
        where = np.unique(np.asarray(positions, np.int64))
        old = self.tree.leaf(where)
        self.tree.update(positions, np.asarray(priorities, np.float64) ** self.alpha)
        new = self.tree.leaf(where)
        self.count += int((new > 0).sum()) - int((old > 0).sum())
        if bool(((old == self._min) & (new != old)).any()):
            self._refresh_min()
        elif bool((new > 0).any()):
            low = float(new[new > 0].min())
            self._min = low if self._min <= 0 else min(self._min, low)

    def sample(
        self, k: int, beta: float, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``k`` positions; return them and their importance weights (max 1, float32).

        ``rng``: the generator to draw with (default: the sampler's own, seeded at creation).
        """
        idx = self.tree.sample(k, rng or self.rng)
        total = self.tree.total
        p = self.tree.leaf(idx) / total
        w = (self.count * p) ** -beta
        w_max = (self.count * self._min / total) ** -beta
        return idx, (w / w_max).astype(np.float32)


def beta_schedule(beta0: float, step: int, steps: int) -> float:
    """Return ``beta`` at ``step`` (1-based) of ``steps``: ``beta0`` first, 1 at the last."""
    if steps <= 1:
        return 1.0
    return beta0 + (1.0 - beta0) * (step - 1) / (steps - 1)


def top_setups(
    profitability: np.ndarray, min_profitability: float, max_samples: int | None = None
) -> np.ndarray:
    """Return the positions scoring at least ``min_profitability``, best first (ties: earlier)."""
    prof = np.asarray(profitability, np.float64)
    keep = np.flatnonzero(prof >= min_profitability)
    order = keep[np.argsort(-prof[keep], kind="stable")]
    out: np.ndarray = order if max_samples is None else order[:max_samples]
    return out


def _checked(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, np.float64)
    if v.size and not (np.isfinite(v).all() and v.min() >= 0):
        raise UserInputError("sampling priorities must be finite and >= 0")
    return v

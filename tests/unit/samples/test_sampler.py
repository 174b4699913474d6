"""The sum-tree against brute force, the sampler against its target distribution, top setups."""

from __future__ import annotations

import doctest
import math
from types import ModuleType

import numpy as np
import pytest

from ghostcandle.domain.errors import UserInputError
from ghostcandle.engine.samples import priority as priority_module
from ghostcandle.engine.samples import sampler as sampler_module
from ghostcandle.engine.samples.priority import PriorityConfig, priorities, rarity
from ghostcandle.engine.samples.sampler import (
    ProportionalSampler,
    SumTree,
    beta_schedule,
    top_setups,
)

DRAWS = 100_000


def brute_find(values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Return the leaf of each prefix sum the slow way: the first cumulative sum above ``u``."""
    cum = np.cumsum(values)
    return np.array([int(np.flatnonzero(cum > x)[0]) for x in u])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 100, 1000])
def test_sum_tree_matches_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    values = rng.random(n) * (rng.random(n) > 0.3)  # some zeros, which must never be drawn
    values[rng.integers(n)] = 0.5
    tree = SumTree.from_values(values)
    assert tree.total == pytest.approx(values.sum())
    u = rng.random(500) * tree.total
    assert tree.find(u).tolist() == brute_find(values, u).tolist()
    # updates (with a repeated index: the last value wins) keep every node a sum
    idx = rng.integers(0, n, size=20)
    new = rng.random(20)
    tree.update(idx, new)
    values[idx] = new  # numpy assignment: the last value of a repeated index wins, too
    assert np.array_equal(tree.values(), values)
    assert tree.total == pytest.approx(values.sum())
    u = rng.random(500) * tree.total
    assert tree.find(u).tolist() == brute_find(values, u).tolist()


def test_zero_leaves_are_never_drawn_even_at_the_edge() -> None:
    values = np.array([0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0])
    tree = SumTree.from_values(values)
    edge = np.nextafter(tree.total, 0.0)  # the largest u below the total
    assert tree.find(np.array([0.0, 0.999999, 1.0, edge])).tolist() == [1, 1, 4, 4]
    drawn = tree.sample(10_000, np.random.default_rng(0))
    assert set(drawn.tolist()) == {1, 4}


def chi2_critical(df: int, z: float) -> float:
    """Return the chi-square critical value for ``df`` degrees of freedom at the normal quantile
    ``z`` (Wilson-Hilferty: (X/df)^(1/3) is close to normal with mean 1 - 2/(9df) and variance
    2/(9df); within 0.1% of the exact value for df >= 30)."""
    c = 2.0 / (9.0 * df)
    return df * (1.0 - c + z * math.sqrt(c)) ** 3


def test_profit_weighted_draws_match_the_target_distribution() -> None:
    rng = np.random.default_rng(7)
    prio = priorities(rng.random(50), rng.integers(0, 3, 50), rng.random(50) < 0.2)
    alpha = 0.6
    sampler = ProportionalSampler(prio, alpha=alpha, seed=11)
    target = prio**alpha / (prio**alpha).sum()
    assert np.allclose(sampler.probabilities(), target)
    idx, _ = sampler.sample(DRAWS, beta=0.4)
    counts = np.bincount(idx, minlength=len(prio))
    expected = DRAWS * target
    assert expected.min() >= 5  # the chi-square approximation holds
    stat = float(((counts - expected) ** 2 / expected).sum())
    # df = 49 at the 0.1% level (z = 3.0902): ~85.35
    assert stat < chi2_critical(len(prio) - 1, 3.0902)
    # and the test has power: the same draws against uniform fail it by far
    uniform = np.full(len(prio), DRAWS / len(prio))
    assert float(((counts - uniform) ** 2 / uniform).sum()) > 10 * chi2_critical(49, 3.0902)


def test_importance_weights_by_hand() -> None:
    prio = np.array([1.0, 2.0, 4.0, 0.0])  # a zero priority is never drawn and not counted
    sampler = ProportionalSampler(prio, alpha=1.0, seed=0)
    idx, w = sampler.sample(2000, beta=0.5)
    assert 3 not in idx.tolist()
    # N = 3 drawable, P = 1/7, 2/7, 4/7; w = (N P)^-beta / max: max is at P = 1/7
    expected = {i: math.sqrt((1 / 7) / p) for i, p in ((0, 1 / 7), (1, 2 / 7), (2, 4 / 7))}
    for i, wi in zip(idx.tolist(), w.tolist(), strict=True):
        assert wi == pytest.approx(expected[i], rel=1e-6)
    assert w.dtype == np.float32
    sampler.update(np.array([3]), np.array([8.0]))
    assert sampler.probabilities()[3] == pytest.approx(8 / 15)


def test_beta_schedule_reaches_one() -> None:
    assert beta_schedule(0.4, 1, 5) == pytest.approx(0.4)
    assert beta_schedule(0.4, 3, 5) == pytest.approx(0.7)
    assert beta_schedule(0.4, 5, 5) == 1.0
    assert beta_schedule(0.4, 1, 1) == 1.0


def test_top_setups_best_first_capped() -> None:
    prof = np.array([0.2, 0.9, 0.75, 0.7, 0.95, 0.9])
    assert top_setups(prof, 0.7).tolist() == [4, 1, 5, 2, 3]
    assert top_setups(prof, 0.7, 2).tolist() == [4, 1]
    assert top_setups(prof, 0.99).tolist() == []


def test_priority_formula_by_hand() -> None:
    labels = np.array([0, 0, 0, 1])  # N = 4, K = 2: label 0 weighs (4/6)^0.5, label 1 2^0.5
    assert rarity(labels).tolist() == pytest.approx([(2 / 3) ** 0.5] * 3 + [2**0.5])
    p = priorities(np.array([0.5, 0.5, 0.5, 0.9]), labels, np.array([False, True, False, True]))
    assert p.tolist() == pytest.approx([
        0.55**2 * (2 / 3) ** 0.5, 0.55**2 * (2 / 3) ** 0.5 * 2, 0.55**2 * (2 / 3) ** 0.5,
        0.95**2 * 2**0.5 * 2,
    ])  # fmt: skip
    assert rarity(np.array([0] * 1000 + [1])).max() == 10.0  # capped
    with pytest.raises(UserInputError, match="eps"):
        PriorityConfig(eps=0.0)
    with pytest.raises(UserInputError, match="finite"):
        SumTree.from_values(np.array([1.0, -1.0]))


@pytest.mark.parametrize("module", [priority_module, sampler_module])
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_weights_stay_exact_through_updates() -> None:
    rng = np.random.default_rng(3)
    prio = rng.random(300) + 0.01
    sampler = ProportionalSampler(prio, alpha=0.7, seed=2)
    for step in range(40):
        idx = rng.integers(0, 300, 8)
        new = rng.random(8) * (rng.random(8) > 0.2)  # some leave the pool (priority 0)
        if step % 10 == 0:
            new[0] = 1e-4  # a new smallest
        sampler.update(idx, new)
        prio[idx] = new
        drawn, w = sampler.sample(64, beta=0.6)
        p = prio**0.7 / (prio**0.7).sum()
        n = int((prio > 0).sum())
        expected = (n * p[drawn]) ** -0.6 / (n * p[p > 0].min()) ** -0.6
        assert (prio[drawn] > 0).all()
        assert np.allclose(w, expected, rtol=1e-5)

"""Prioritised, profit-weighted experience replay: target distribution, weights, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghostcandle.domain.errors import UserInputError
from ghostcandle.engine.samples.experience_replay import (
    ExperienceReplay,
    Experiences,
    MinTree,
    PerSettings,
)

from .test_sampler import chi2_critical

DRAWS = 100_000


def _exps(
    n: int, profit: np.ndarray | None = None, reward: np.ndarray | None = None
) -> Experiences:
    rng = np.random.default_rng(n)
    return Experiences(
        state=np.arange(n),
        position=rng.integers(-1, 2, n),
        action=rng.integers(0, 3, n),
        reward=rng.normal(size=n) if reward is None else reward,
        next_state=np.arange(n) + 1,
        next_position=rng.integers(-1, 2, n),
        discount=np.full(n, 0.9),
        profit_priority=rng.uniform(0.1, 2.0, n) if profit is None else profit,
    )


def _target(td: np.ndarray, profit: np.ndarray, s: PerSettings) -> np.ndarray:
    """The documented priority, written out independently of the buffer."""
    pairs = zip(td.tolist(), profit.tolist(), strict=True)
    p = np.array([((abs(d) + s.eps) ** (1 - s.mix) * q**s.mix) ** s.alpha for d, q in pairs])
    return p / p.sum()


def test_draws_follow_the_mixed_priority() -> None:
    s = PerSettings(capacity=64, alpha=0.7, mix=0.4)
    buf = ExperienceReplay(s, seed=3)
    exps = _exps(40)
    slots = buf.add(exps)
    td = np.random.default_rng(5).exponential(1.0, 40)
    buf.update_td(slots, td)
    target = _target(td, exps.profit_priority, s)
    assert np.allclose(buf.probabilities()[:40], target)
    assert buf.probabilities()[40:].sum() == 0  # empty slots never draw
    idx, _ = buf.sample(DRAWS, beta=0.5)
    counts = np.bincount(idx, minlength=40)[:40]
    expected = DRAWS * target
    assert expected.min() >= 5
    stat = float(((counts - expected) ** 2 / expected).sum())
    assert stat < chi2_critical(39, 3.0902)  # df = 39 at the 0.1% level
    uniform = np.full(40, DRAWS / 40)
    assert float(((counts - uniform) ** 2 / uniform).sum()) > 5 * chi2_critical(39, 3.0902)


def test_mix_zero_is_plain_per_and_one_is_profitability_alone() -> None:
    exps = _exps(10)
    td = np.linspace(0.1, 3.0, 10)
    for mix, want in ((0.0, (td + 0.01) ** 0.6), (1.0, exps.profit_priority**0.6)):
        buf = ExperienceReplay(PerSettings(capacity=10, mix=mix))
        buf.update_td(buf.add(exps), td)
        assert np.allclose(buf.probabilities(), want / want.sum())


def test_importance_weights_by_hand() -> None:
    s = PerSettings(capacity=4, alpha=1.0, mix=0.0, eps=1e-9)
    buf = ExperienceReplay(s, seed=0)
    slots = buf.add(_exps(3, profit=np.ones(3)))
    buf.update_td(slots, np.array([1.0, 2.0, 4.0]))
    idx, w = buf.sample(2000, beta=0.5)
    # N = 3, P = 1/7, 2/7, 4/7; w = (N P)^-beta / max w, the max at P = 1/7
    want = {0: 1.0, 1: math.sqrt(1 / 2), 2: math.sqrt(1 / 4)}
    for i, wi in zip(idx.tolist(), w.tolist(), strict=True):
        assert wi == pytest.approx(want[i], rel=1e-5)
    assert w.dtype == np.float32
    # beta = 1: weighting by w undoes the sampling bias (weighted mean of P*w*N = uniform)
    idx, w = buf.sample(50_000, beta=1.0)
    est = np.array([w[idx == i].sum() for i in range(3)])
    assert np.allclose(est / est.sum(), 1 / 3, atol=0.01)


def test_new_experiences_get_the_largest_error_seen() -> None:
    buf = ExperienceReplay(PerSettings(capacity=8, mix=0.0, alpha=1.0))
    buf.update_td(buf.add(_exps(2, profit=np.ones(2))), np.array([0.5, 7.0]))
    buf.add(_exps(1, profit=np.ones(1)))
    p = buf.probabilities()
    assert p[2] == pytest.approx(p[1])


def test_ring_overwrites_the_oldest_and_min_tracks_it() -> None:
    buf = ExperienceReplay(PerSettings(capacity=4, mix=1.0, alpha=1.0))
    buf.add(_exps(3, profit=np.array([0.1, 1.0, 1.0])))
    buf.add(_exps(2, profit=np.array([2.0, 3.0])))
    assert len(buf) == 4
    assert buf.stored().profit_priority.tolist() == [1.0, 1.0, 2.0, 3.0]
    assert buf._min.min == pytest.approx(1.0)  # the 0.1 was overwritten


def test_non_finite_rewards_are_refused_and_counted() -> None:
    buf = ExperienceReplay(PerSettings(capacity=8))
    slots = buf.add(_exps(4, reward=np.array([1.0, np.nan, np.inf, 0.0])))
    assert len(slots) == 2
    assert buf.rejected == 2
    assert np.isfinite(buf.stored().reward).all()
    with pytest.raises(ValueError, match="empty"):
        ExperienceReplay(PerSettings(capacity=2)).sample(1, 0.4)


def test_min_tree_by_brute_force() -> None:
    rng = np.random.default_rng(1)
    tree, values = MinTree(37), np.full(37, np.inf)
    for _ in range(50):
        idx = rng.integers(0, 37, 5)
        v = rng.random(5)
        tree.update(idx, v)
        for i, x in zip(idx, v, strict=True):
            values[i] = x
        assert tree.min == values.min()


@pytest.mark.parametrize("bad", [{"mix": 1.5}, {"alpha": -1}, {"eps": 0.0}, {"capacity": 0}])
def test_bad_settings_are_one_line(bad: dict[str, float]) -> None:
    with pytest.raises(UserInputError):
        PerSettings(**bad).check()  # type: ignore[arg-type]

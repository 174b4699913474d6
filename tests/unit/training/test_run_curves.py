"""Run curves stay bounded and averaged; the convergence test and the value score."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghostcandle.engine.training.run_curves import (
    DIVERGING,
    IMPROVING,
    PLATEAU,
    UNKNOWN,
    Curve,
    convergence,
    value_per_1k,
)


def test_a_long_curve_stays_bounded_and_keeps_the_mean() -> None:
    curve = Curve(points=10)
    values = np.random.default_rng(1).normal(size=5000)
    for i, v in enumerate(values, start=1):
        curve.add(i, float(v))
    pairs = curve.pairs()
    assert 10 <= len(pairs) <= 20
    assert pairs[-1][0] == 5000  # the last step is always kept
    steps = [s for s, _ in pairs]
    assert steps == sorted(steps)
    # merging averages: the mean over all points is kept (buckets weigh by their count)
    widths = np.diff([0, *steps])
    assert np.average([v for _, v in pairs], weights=widths) == pytest.approx(values.mean())


def test_a_short_curve_is_kept_point_for_point() -> None:
    curve = Curve(points=10)
    for i in range(1, 8):
        curve.add(i, i / 10)
    assert curve.pairs() == tuple((i, i / 10) for i in range(1, 8))


def test_a_resumed_curve_continues_from_its_points() -> None:
    curve = Curve(points=10, initial=((1, 2.0), (2, 1.5)))
    curve.add(3, 1.0)
    assert curve.pairs() == ((1, 2.0), (2, 1.5), (3, 1.0))


def _line(slope: float, n: int = 8, start: float = 1.0) -> list[tuple[int, float]]:
    return [(i, start + slope * i) for i in range(n)]


def test_convergence_states() -> None:
    assert convergence(_line(0.0, 2)) == UNKNOWN
    assert convergence(_line(-0.05)) == IMPROVING
    assert convergence(_line(0.0)) == PLATEAU
    assert convergence(_line(0.0005)) == PLATEAU  # 0.35% across the window: within 1%
    assert convergence(_line(0.05)) == DIVERGING
    # a loss that settles above twice its best is diverging whatever the window's slope
    risen = [(0, 1.0)] + [(i, 0.5) for i in range(1, 9)] + [(i, 1.2) for i in range(9, 17)]
    assert convergence(risen) == DIVERGING
    # one noisy batch is not a trend: a flat, noisy online curve with a spike is a plateau
    rng = np.random.default_rng(4)
    noisy = [(i, 1.0 + 0.2 * float(rng.standard_normal())) for i in range(40)] + [(40, 2.5)]
    assert convergence(noisy) == PLATEAU
    # a clear fall through the noise is still improving
    falling = [(i, 2.0 - 0.1 * i + 0.02 * float(rng.standard_normal())) for i in range(8)]
    assert convergence(falling) == IMPROVING
    assert convergence([(0, 1.0), (1, 0.9), (2, math.nan)]) == DIVERGING
    # only the last 8 points count: an old fall does not make a flat tail improving
    assert convergence([(i, 5.0 - i) for i in range(4)] + _line(0.0, 8, 1.0)) == PLATEAU


def test_value_is_the_fall_per_thousand_steps() -> None:
    assert value_per_1k([(10, 2.0), (500, 1.5)], 500) == pytest.approx(1.0)
    assert value_per_1k([(10, 1.0), (500, 1.5)], 500) == pytest.approx(-1.0)
    assert value_per_1k([(10, 1.0)], 10) is None
    assert value_per_1k([(1, 1.0), (2, math.inf)], 2) is None

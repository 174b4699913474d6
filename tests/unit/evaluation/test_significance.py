"""Diebold–Mariano with HAC variance, the exact binomial test, the lag rule and the guard."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghostcandle.engine.evaluation.significance import (
    MIN_SAMPLE,
    binomial_two_sided_p,
    diebold_mariano,
    dm_statistic,
    hac_lag,
    hac_variance_of_mean,
    newey_west_variance,
)


def test_dm_on_a_tiny_example_computed_by_hand() -> None:
    # d = (1, -1, 2, 0): mean 0.5, deviations (0.5, -1.5, 1.5, -0.5)
    # sum of squares 0.25 + 2.25 + 2.25 + 0.25 = 5
    # lag-1 products 0.5*-1.5 + -1.5*1.5 + 1.5*-0.5 = -3.75, Bartlett weight 1 - 1/2 = 0.5
    # variance of the mean (5 + 2 * 0.5 * -3.75) / 4**2 = 1.25 / 16
    d = np.array([1.0, -1.0, 2.0, 0.0])
    found = dm_statistic(d, np.arange(4), lag=1)
    assert found is not None
    stat, p = found
    assert stat == pytest.approx(0.5 / math.sqrt(1.25 / 16))
    assert p == pytest.approx(math.erfc(0.5 / math.sqrt(1.25 / 16) / math.sqrt(2)))
    assert p == pytest.approx(0.0736, abs=1e-4)


def _direct_hac(d: np.ndarray, period: np.ndarray, lag: int) -> float:
    """Sum w(|p_i - p_j|) x_i x_j over every pair: the definition, one pair at a time."""
    x = d - d.mean()
    total = 0.0
    for i in range(len(d)):
        for j in range(len(d)):
            k = abs(int(period[i]) - int(period[j]))
            if k <= lag:
                total += (1.0 - k / (lag + 1)) * x[i] * x[j]
    return total / len(d) ** 2


@pytest.mark.parametrize("lag", [0, 1, 3, 7])
def test_hac_variance_matches_a_direct_loop(lag: int) -> None:
    rng = np.random.default_rng(lag)
    d = rng.normal(0.1, 1.0, 60)
    # two symbols: some times have both, some one (the period is the time position)
    period = np.sort(rng.integers(0, 40, 60))
    period = np.unique(period, return_inverse=True)[1]
    assert hac_variance_of_mean(d, period, lag) == pytest.approx(_direct_hac(d, period, lag))
    # one value per time: the plain Newey–West long-run variance over n
    single = np.arange(60)
    assert hac_variance_of_mean(d, single, lag) == pytest.approx(newey_west_variance(d, lag) / 60)
    assert hac_variance_of_mean(d, single, lag) == pytest.approx(_direct_hac(d, single, lag))


def test_identical_errors_give_no_test_and_p_one() -> None:
    e = np.abs(np.random.default_rng(1).normal(size=200))
    out = diebold_mariano(e, e.copy(), np.arange(200))
    assert out["statistic"] is None
    assert out["p_value"] == 1.0
    assert out["mean_loss_diff"] == 0.0


def test_a_model_better_by_a_constant_has_a_tiny_p() -> None:
    rng = np.random.default_rng(2)
    base = np.abs(rng.normal(size=5000)) + 0.5
    exact = diebold_mariano(base - 0.1, base, np.arange(5000))
    assert exact["p_value"] == 0.0  # the same difference everywhere: the sign is certain
    assert exact["mean_loss_diff"] == pytest.approx(-0.1)
    noisy = diebold_mariano(base - 0.1 + rng.normal(0, 0.5, 5000), base, np.arange(5000))
    assert noisy["statistic"] < -8
    assert noisy["p_value"] < 1e-12
    assert noisy["lag"] == 17  # floor(5000 ** (1/3))


def test_dm_holds_its_size_under_autocorrelated_equal_losses() -> None:
    # AR(1) loss differentials with mean 0: a test at 5% should reject about 5% of the time;
    # without the HAC correction (lag 0) it rejects far more often
    rng = np.random.default_rng(3)
    n, runs, rho = 1000, 300, 0.5
    hac = plain = 0
    for _ in range(runs):
        eps = rng.normal(size=n)
        d = np.empty(n)
        d[0] = eps[0]
        for t in range(1, n):
            d[t] = rho * d[t - 1] + eps[t]
        hac += diebold_mariano(d, np.zeros(n), np.arange(n))["p_value"] < 0.05
        found = dm_statistic(d, np.arange(n), lag=0)
        assert found is not None
        plain += found[1] < 0.05
    assert hac / runs < 0.12
    assert plain / runs > 0.15


def test_below_the_minimum_sample_there_is_no_test() -> None:
    e = np.arange(MIN_SAMPLE - 1, dtype=float)
    out = diebold_mariano(e, e + 1.0, np.arange(MIN_SAMPLE - 1))
    assert out["status"] == "too_few"
    assert out["p_value"] is None
    assert out["statistic"] is None
    e = np.arange(MIN_SAMPLE, dtype=float)
    assert diebold_mariano(e, e + 1.0, np.arange(MIN_SAMPLE))["status"] == "ok"


@pytest.mark.parametrize(("k", "n"), [(0, 1), (3, 10), (7, 10), (5, 10), (40, 100), (61, 100)])
def test_binomial_p_equals_the_exact_sum(k: int, n: int) -> None:
    pk = math.comb(n, k)
    exact = sum(math.comb(n, j) for j in range(n + 1) if math.comb(n, j) <= pk) / 2**n
    assert binomial_two_sided_p(k, n) == pytest.approx(min(1.0, exact), rel=1e-9)


def test_binomial_p_on_a_million_trials() -> None:
    # 50.1% over a million is about two standard errors above a coin
    assert binomial_two_sided_p(501_000, 1_000_000) == pytest.approx(0.0455, abs=5e-4)
    with pytest.raises(ValueError, match="not a count"):
        binomial_two_sided_p(11, 10)


def test_hac_lag_is_the_exact_floor_of_the_cube_root() -> None:
    for t in range(1, 3000):
        lag = hac_lag(t)
        assert lag**3 <= t < (lag + 1) ** 3

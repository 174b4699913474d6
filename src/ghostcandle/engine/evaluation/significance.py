"""Significance: Wilson intervals, exact binomial tests, and Diebold–Mariano with HAC variance.

Every test here is vectorised with numpy (a million targets take a fraction of a second) and
refuses to answer below ``MIN_SAMPLE`` targets: the figures then carry ``"status": "too_few"``
and no interval or p-value.

Diebold–Mariano (1995) compares two forecasts on the same targets by the loss differential
``d = |e_model| - |e_baseline|`` (absolute-error loss). The variance of its mean is the
Newey–West (1987) HAC estimate with Bartlett weights ``1 - k / (L + 1)`` and lag
``L = floor(T ** (1/3))``, ``T`` the number of distinct target times: one-step-ahead errors of
overlapping windows are serially correlated, so ``h - 1 = 0`` lags would understate it.
Several symbols at one target time are summed first (Driscoll–Kraay), so correlation across
symbols counts too. Lags are positions on the session's sorted target times: a time where one
of the two forecasts is missing adds a zero deviation, a gap in the data is not counted. The
statistic ``mean(d) / sqrt(var)`` is referred to the standard normal, two-sided.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Below this many targets no interval or test is given.
MIN_SAMPLE = 30
OK, TOO_FEW = "ok", "too_few"
_Z95 = 1.959964


def status_of(n: int) -> str:
    """Return ``"ok"`` for a sample large enough to test, else ``"too_few"``."""
    return OK if n >= MIN_SAMPLE else TOO_FEW


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float] | None:
    """Return the 95% Wilson score interval of a proportion, or None when ``n`` is 0.

    >>> lo, hi = wilson_interval(60, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.502, 0.691)
    """
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def normal_two_sided_p(statistic: float) -> float:
    """Return ``P(|Z| >= |statistic|)`` for a standard normal ``Z``.

    >>> round(normal_two_sided_p(1.959964), 4)
    0.05
    """
    return math.erfc(abs(statistic) / math.sqrt(2.0))


def binomial_two_sided_p(successes: int, n: int) -> float:
    """Return the exact two-sided binomial p-value of ``successes`` in ``n`` against p = 1/2.

    The distribution is symmetric, so the outcomes at most as likely as the one seen are the
    two tails beyond it: ``min(1, 2 P(X <= min(k, n - k)))``, summed in log space.

    >>> round(binomial_two_sided_p(60, 100), 6)
    0.056888
    >>> binomial_two_sided_p(5, 10)
    1.0
    """
    if not 0 <= successes <= n:
        raise ValueError(f"{successes} successes out of {n} is not a count: need 0 <= k <= n")
    if n == 0:
        return 1.0
    m = min(successes, n - successes)
    j = np.arange(1, m + 1, dtype=np.float64)
    # log C(n, j) = sum_{i <= j} log((n - i + 1) / i), for j = 0..m
    log_comb = np.concatenate(([0.0], np.cumsum(np.log((n - j + 1.0) / j))))
    log_pmf = log_comb - n * math.log(2.0)
    top = float(log_pmf.max())
    tail = math.exp(top) * float(np.exp(log_pmf - top).sum())
    return min(1.0, 2.0 * tail)


def hac_lag(periods: int) -> int:
    """Return the Newey–West lag ``floor(T ** (1/3))`` for ``T`` periods, computed exactly.

    >>> hac_lag(64), hac_lag(63), hac_lag(1)
    (4, 3, 1)
    """
    lag = round(math.cbrt(max(periods, 0)))
    while lag**3 > periods:
        lag -= 1
    while (lag + 1) ** 3 <= periods:
        lag += 1
    return lag


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum's own loop: BLAS would start threads for one dot product, which on a busy
    # machine costs a thousand times the arithmetic
    return float(np.einsum("i,i->", a, b))


def bartlett_weights(lag: int) -> np.ndarray:
    """Return the Bartlett (Newey–West) weights ``1 - k / (lag + 1)`` for ``k = 1..lag``."""
    return 1.0 - np.arange(1, lag + 1, dtype=np.float64) / (lag + 1)


def newey_west_variance(d: np.ndarray, lag: int) -> float:
    """Return the Newey–West long-run variance ``g0 + 2 sum_k w_k g_k`` of one series.

    ``g_k = (1/n) sum_{t >= k} (d_t - mean)(d_{t-k} - mean)``; divide by ``n`` for the
    variance of the mean.
    """
    x = np.asarray(d, dtype=np.float64) - float(np.mean(d))
    n = len(x)
    total = _dot(x, x)
    for k, w in enumerate(bartlett_weights(min(lag, n - 1)), start=1):
        total += 2.0 * float(w) * _dot(x[k:], x[:-k])
    return total / n


def hac_variance_of_mean(d: np.ndarray, period: np.ndarray, lag: int) -> float:
    """Return the HAC variance of ``mean(d)`` where ``period[i]`` is the time position of ``d[i]``.

    Deviations are summed per period (several symbols at one time), then Bartlett-weighted
    autocovariances of those sums up to ``lag`` periods are added; with one value per period
    this equals ``newey_west_variance(d, lag) / n``.
    """
    x = np.asarray(d, dtype=np.float64)
    n = len(x)
    sums = np.bincount(period, weights=x - float(np.mean(x)))
    total = _dot(sums, sums)
    for k, w in enumerate(bartlett_weights(min(lag, len(sums) - 1)), start=1):
        total += 2.0 * float(w) * _dot(sums[k:], sums[:-k])
    return max(total, 0.0) / (n * n)


def dm_statistic(d: np.ndarray, period: np.ndarray, lag: int) -> tuple[float, float] | None:
    """Return the Diebold–Mariano statistic of ``d`` and its two-sided p-value (no guard).

    ``d`` is the loss differential, ``period`` each value's time position (0-based, dense).
    None when the HAC variance is zero (a constant ``d``): there is nothing to standardise.
    """
    var = hac_variance_of_mean(d, period, lag)
    scale = float(np.abs(d).max()) if len(d) else 0.0
    if var <= (1e-12 * scale) ** 2:
        return None
    stat = float(np.mean(d)) / math.sqrt(var)
    return stat, normal_two_sided_p(stat)


def diebold_mariano(
    loss_model: np.ndarray, loss_baseline: np.ndarray, period: np.ndarray
) -> dict[str, Any]:
    """Test equal expected loss of two forecasts on the same targets (see the module doc).

    ``period`` holds each target's time position (0-based ints, e.g. the rank of its target
    time among the session's; several targets may share one). The answer names the
    statistic, the two-sided normal p-value and the lag used; below ``MIN_SAMPLE`` targets
    neither. Identical losses give no statistic and p = 1; a constant non-zero difference no
    statistic and p = 0 (the sign is certain).
    """
    d = np.asarray(loss_model, dtype=np.float64) - np.asarray(loss_baseline, dtype=np.float64)
    n = len(d)
    out: dict[str, Any] = {
        "n": n,
        "status": status_of(n),
        "mean_loss_diff": float(d.mean()) if n else None,
        "statistic": None,
        "p_value": None,
        "lag": None,
        "note": None,
    }
    if n < MIN_SAMPLE:
        return out
    position = np.asarray(period, dtype=np.int64)
    lag = hac_lag(int(np.count_nonzero(np.bincount(position))))
    out["lag"] = lag
    if not d.any():
        out.update(p_value=1.0, note="identical losses: nothing to test")
        return out
    found = dm_statistic(d, position, lag)
    if found is None:
        out.update(p_value=0.0, note="constant loss difference")
        return out
    out.update(statistic=found[0], p_value=found[1])
    return out

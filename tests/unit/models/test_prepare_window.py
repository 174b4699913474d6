"""``prepare_window`` (a live tick's one window) gives the bits of the batch rule.

It takes a shorter path than ``prepare_stacked_inputs`` (``one_window_scales``); a window's
input and parameters must not depend on which path made them (a stored frame's prediction is
recomputed from them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.models.inputs import prepare_stacked_inputs, prepare_window


def _rule(values: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    inputs, scales = prepare_stacked_inputs({"1s": np.asarray(values, dtype=np.float64)[None]})
    return inputs.windows["1s"], scales["1s"].params(0)


def _check(values: np.ndarray) -> None:
    got, params = prepare_window("1s", values)
    want, want_params = _rule(values)
    assert got.shape == want.shape == (1, *np.shape(values))
    assert got.dtype == np.float64
    assert np.array_equal(got.view(np.int64), want.view(np.int64))
    assert params == want_params
    assert all(type(x) is float for x in params.values())
    assert not got.flags.writeable


@pytest.mark.parametrize("length", [1, 2, 7, 8, 9, 64, 127, 128, 129, 600, 1000])
def test_synthetic_windows_of_every_length_equal_the_rule(length: int) -> None:
    v = synthetic_candles(length + 50, "1s", start_ms=0, seed=length)[list(VALUE_COLUMNS)]
    values = v.to_numpy()
    for end in range(length, len(values) + 1, max(1, len(values) // 7)):
        _check(values[end - length : end])


def test_random_scales_and_near_ties_equal_the_rule() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 700))
        price = 10.0 ** rng.uniform(-4, 6)
        w = price * (1 + rng.normal(0, 10.0 ** rng.uniform(-6, -1), (n, 5)))
        w[:, 1] = w.max(axis=1) * (1 + abs(rng.normal(0, 1e-3)))
        w[:, 2] = w[:, :4].min(axis=1)
        w[:, 4] = np.abs(rng.normal(0, 10.0 ** rng.uniform(-3, 4), n))
        _check(w)
    # ranges and volumes whose mean sits a hair from a power of two's rounding point
    for k in range(-10, 11):
        for mean in (2.0 ** (k + 0.5), np.nextafter(2.0 ** (k + 0.5), 0), 2.0**k):
            w = np.full((16, 5), 100.0)
            w[:, 1], w[:, 2], w[:, 4] = 100.0 + mean, 100.0, mean
            _check(w)


def test_real_windows_zero_volume_and_flat_stretches(eth_1m_2024: Path) -> None:
    v = pd.read_csv(eth_1m_2024, usecols=range(6), nrows=3000).iloc[:, 1:6].to_numpy(float)
    v[500:700, 4] = 0.0
    v[1000:1200, :4] = v[1000, 3]
    for end in range(64, 3000, 37):
        _check(v[end - 64 : end])
        _check(v[max(0, end - 600) : end])


def test_bad_windows_are_refused_as_the_rule_refuses_them() -> None:
    w = synthetic_candles(30, "1s", start_ms=0, seed=1)[list(VALUE_COLUMNS)].to_numpy()
    cases = [w.copy() for _ in range(3)]
    cases[0][10, 2] = np.nan
    cases[1][-1, 3] = 0.0
    cases[2][-1, 3] = -5.0
    said = "NaN/inf|ends with close 0.0|ends with close -5.0|have shape"
    for bad in (*cases, w[:, :4], w[:0], w[0]):
        with pytest.raises(ValueError, match=said) as rule:
            _rule(bad)
        with pytest.raises(ValueError, match=said) as got:
            prepare_window("1s", bad)
        assert str(got.value) == str(rule.value)

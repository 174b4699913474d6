"""Many windows at once under the one-window rules: selection, completeness, normalisation.

The normalisation's reference here is written out independently (per window, 1-D means and
``math.log2``, as a single window's parameters were always computed), so a batched form that
drifted from it by one bit fails, and so does a change of the single-window parameters.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.normalisation import (
    norm_params,
    normalise,
    normalise_windows,
    param_keys,
    window_scales,
)
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec, complete_windows, stack_windows

M = 60_000


def _reference(tf: str, w: np.ndarray) -> dict[str, float]:
    ref = float(w[-1, 3])
    mean_range = float(np.mean(w[:, 1] - w[:, 2]))
    scale = max(mean_range, ref * 2.0**-20)
    mean_volume = float(np.mean(w[:, 4]))
    vscale = float(2.0 ** round(math.log2(mean_volume))) if mean_volume > 0 else 1.0
    pscale = float(2.0 ** round(math.log2(scale)))
    return dict(zip(param_keys(tf), (ref, pscale, vscale), strict=True))


@pytest.mark.parametrize("n", [1, 3, 9, 128, 129, 600])
def test_batched_parameters_are_each_windows_own_bit_for_bit(n: int) -> None:
    v = synthetic_candles(3000, "1m", start_ms=0, seed=n)[list(VALUE_COLUMNS)].to_numpy()
    v[::7, 1] = v[::7, 2]  # some flat candles, and a flat stretch: the scale's floor
    v[100:800, 0:4] = v[100, 3]
    v[200:900, 4] = 0.0  # no volume: the volume scale falls back to one
    ends = np.random.default_rng(n).integers(n - 1, len(v), size=300)
    windows = stack_windows(v, ends, n)
    scales = window_scales("1m", windows)
    normalised = normalise_windows(windows, scales)
    for k, e in enumerate(ends):
        one = v[e - n + 1 : e + 1]
        want = _reference("1m", one)
        assert scales.params(k) == want
        assert norm_params("1m", one) == want
        ref, scale, vscale = (want[key] for key in param_keys("1m"))
        assert np.array_equal(normalised[k, :, :4], (one[:, :4] - ref) / scale)
        assert np.array_equal(normalised[k, :, 4], one[:, 4] / vscale)
        assert np.array_equal(normalised[k], normalise("1m", one, want))


def test_real_windows_keep_their_parameters(eth_1m_2024: Path) -> None:
    df = pd.read_csv(eth_1m_2024, usecols=range(6), nrows=5000)
    v = df.iloc[:, 1:6].to_numpy(dtype=np.float64)
    ends = np.arange(599, len(v), 13)
    scales = window_scales("1m", stack_windows(v, ends, 600))
    for k, e in enumerate(ends):
        assert scales.params(k) == _reference("1m", v[e - 599 : e + 1])


def test_a_bad_window_in_a_batch_is_named() -> None:
    v = synthetic_candles(100, "1m", start_ms=0, seed=1)[list(VALUE_COLUMNS)].to_numpy()
    bad = v.copy()
    bad[50, 3] = np.nan
    with pytest.raises(ValueError, match="1m window holds NaN"):
        window_scales("1m", stack_windows(bad, np.array([30, 60]), 20))
    bad = v.copy()
    bad[60, 3] = -1.0
    with pytest.raises(ValueError, match=r"1m window ends with close -1\.0"):
        window_scales("1m", stack_windows(bad, np.array([30, 60]), 20))
    with pytest.raises(ValueError, match=r"shape \(2, 20\)"):
        window_scales("1m", v[:40].reshape(2, 20, 5)[:, :, 0])


def test_stacked_windows_are_the_rows_ending_at_each_end() -> None:
    v = np.arange(50 * 5, dtype=np.float64).reshape(50, 5)
    ends = np.array([4, 49, 10, 4])
    got = stack_windows(v, ends, 5)
    assert got.shape == (4, 5, 5)
    assert got.flags.c_contiguous
    for k, e in enumerate(ends):
        assert np.array_equal(got[k], v[e - 4 : e + 1])
    for bad in ([3], [50]):
        with pytest.raises(ValueError, match="whole windows of 5"):
            stack_windows(v, np.array(bad), 5)


def test_complete_windows_hold_exactly_their_specs_candles() -> None:
    t = np.arange(0, 40 * M, M, dtype=np.int64)
    t = np.delete(t, [17, 18])  # a hole
    ends = np.arange(-1, len(t))
    got = complete_windows(t, "1m", 6, ends)
    for e, ok in zip(ends, got, strict=True):
        if e < 5:
            want = False
        else:
            spec = WindowSpec("1m", int(t[e]), 6)
            want = np.array_equal(t[e - 5 : e + 1], spec.open_times())
        assert ok == want
    assert got.any()
    assert not got.all()
    assert not complete_windows(t[:0], "1m", 1, np.array([-1])).any()

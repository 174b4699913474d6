"""``WindowBatches`` gives the bits of ``prepare_stacked_inputs`` of ``stack_windows``, reused.

The batched backtest cuts its inputs with it; its trades must be the loop's, bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import stack_windows
from ghostcandle.models.inputs import prepare_stacked_inputs
from ghostcandle.models.window_batches import SeriesWindows, WindowBatches


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.int64)


def _same(values: np.ndarray, ends: np.ndarray, n: int, got: SeriesWindows) -> None:
    want, scales = prepare_stacked_inputs({"1m": stack_windows(values, ends, n)})
    out, s = got.normalised(ends)
    assert out.shape == want.windows["1m"].shape
    assert out.dtype == np.float64
    assert np.array_equal(_bits(out), _bits(want.windows["1m"]))
    for name in ("price_ref", "price_scale", "volume_scale"):
        assert np.array_equal(getattr(s, name), getattr(scales["1m"], name))


@pytest.mark.parametrize("n", [1, 2, 7, 64, 600])
def test_synthetic_windows_equal_the_rule_bit_for_bit(n: int) -> None:
    v = synthetic_candles(3000, "1m", start_ms=0, seed=n)[list(VALUE_COLUMNS)].to_numpy()
    rng = np.random.default_rng(n)
    series = SeriesWindows("1m", v, n, capacity=128)
    # batches of several sizes through the same buffers, each checked against the rule
    for size in (128, 5, 1, 77, 0):
        _same(v, rng.integers(n - 1, len(v), size=size), n, series)


def test_real_prices_zero_volumes_and_flat_windows(eth_1m_2024: Path) -> None:
    df = pd.read_csv(eth_1m_2024, usecols=range(6), nrows=6000)
    v = df.iloc[:, 1:6].to_numpy(dtype=np.float64)
    v[1000:1100, 4] = 0.0  # windows without volume keep a volume scale of 1
    v[2000:2100, :4] = v[2000, 3]  # windows with no range take the minimum relative scale
    series = SeriesWindows("1m", v, 64, capacity=256)
    for ends in (np.arange(1050, 1306), np.arange(2000, 2256), np.arange(63, 6000, 24)[:256]):
        _same(v, ends, 64, series)


def test_a_returned_stack_is_read_only_and_the_next_call_reuses_it() -> None:
    v = synthetic_candles(500, "1m", start_ms=0, seed=1)[list(VALUE_COLUMNS)].to_numpy()
    series = SeriesWindows("1m", v, 10, capacity=4)
    first, _ = series.normalised(np.array([20, 30]))
    kept = first.copy()
    with pytest.raises(ValueError, match="read-only"):
        first[0, 0, 0] = 1.0
    series.normalised(np.array([400, 401]))
    assert not np.array_equal(first, kept)  # documented: valid until the next call


def test_a_non_finite_candle_fails_only_the_windows_holding_it() -> None:
    v = synthetic_candles(300, "1m", start_ms=0, seed=2)[list(VALUE_COLUMNS)].to_numpy()
    v[100, 2] = np.nan
    series = SeriesWindows("1m", v, 10, capacity=8)
    _same(v, np.array([99, 110, 299]), 10, series)  # windows 90..99, 101..110, 290..299
    for end in (100, 109):
        with pytest.raises(ValueError, match="1m window holds NaN/inf"):
            series.normalised(np.array([50, end]))
        with pytest.raises(ValueError, match="1m window holds NaN/inf"):
            prepare_stacked_inputs({"1m": stack_windows(v, np.array([50, end]), 10)})


def test_bad_requests_are_refused_as_the_rule_refuses_them() -> None:
    v = synthetic_candles(100, "1m", start_ms=0, seed=3)[list(VALUE_COLUMNS)].to_numpy()
    v[50, 3] = 0.0
    series = SeriesWindows("1m", v, 10, capacity=2)
    with pytest.raises(ValueError, match=r"ends with close 0\.0: prices must be positive"):
        series.normalised(np.array([50]))
    with pytest.raises(ValueError, match=r"window ends 8\.\.8 fall outside rows 9\.\.99"):
        series.normalised(np.array([8]))
    with pytest.raises(ValueError, match="3 windows asked at once; this holds at most 2"):
        series.normalised(np.array([20, 21, 22]))
    with pytest.raises(ValueError, match=r"shape \(100, 4\)"):
        SeriesWindows("1m", v[:, :4], 10, capacity=2)


def test_a_model_s_timeframes_together() -> None:
    m = synthetic_candles(2000, "1m", start_ms=0, seed=4)[list(VALUE_COLUMNS)].to_numpy()
    h = synthetic_candles(300, "1h", start_ms=0, seed=5)[list(VALUE_COLUMNS)].to_numpy()
    windows = {"1m": 120, "1h": 24}
    ends = {"1m": np.arange(500, 1900, 7)[:200], "1h": np.arange(30, 230)}
    batches = WindowBatches({"1m": m, "1h": h}, windows, capacity=200)
    got, scales = batches.inputs(ends)
    want, want_scales = prepare_stacked_inputs(
        {"1m": stack_windows(m, ends["1m"], 120), "1h": stack_windows(h, ends["1h"], 24)}
    )
    for tf in windows:
        assert np.array_equal(_bits(got.windows[tf]), _bits(want.windows[tf]))
        assert np.array_equal(scales[tf].price_scale, want_scales[tf].price_scale)
    with pytest.raises(ValueError, match="different numbers of samples"):
        batches.inputs({"1m": ends["1m"][:3], "1h": ends["1h"][:4]})
    with pytest.raises(ValueError, match="no series for 1d"):
        WindowBatches({"1m": m}, {"1m": 10, "1d": 5}, capacity=4)

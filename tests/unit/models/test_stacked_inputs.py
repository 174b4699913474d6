"""Stacked model inputs equal ``prepare_inputs`` of each window, bit for bit.

(The batched backtest builds its inputs with ``stack_windows`` and ``prepare_stacked_inputs``.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import stack_windows
from ghostcandle.models.base import ModelInputs
from ghostcandle.models.inputs import prepare_inputs, prepare_stacked_inputs


def batch_inputs(
    values: dict[str, np.ndarray], ends: dict[str, np.ndarray], windows: dict[str, int]
) -> ModelInputs:
    """Build the inputs of many windows at once, as the batched backtest does."""
    raw = {tf: stack_windows(values[tf], ends[tf], n) for tf, n in windows.items()}
    return prepare_stacked_inputs(raw)[0]


def _check(
    values: dict[str, np.ndarray], ends: dict[str, np.ndarray], windows: dict[str, int]
) -> None:
    got = batch_inputs(values, ends, windows)
    samples = [
        {tf: values[tf][int(e[i]) - windows[tf] + 1 : int(e[i]) + 1] for tf, e in ends.items()}
        for i in range(len(next(iter(ends.values()))))
    ]
    want, _ = prepare_inputs(samples, windows)
    for tf in windows:
        assert got.windows[tf].dtype == want.windows[tf].dtype
        assert np.array_equal(got.windows[tf], want.windows[tf])


@pytest.mark.parametrize("n", [2, 7, 30, 129, 600])
def test_synthetic_windows_of_many_lengths(n: int) -> None:
    v = synthetic_candles(2000, "1m", start_ms=0, seed=n)[list(VALUE_COLUMNS)].to_numpy()
    ends = np.random.default_rng(n).integers(n - 1, len(v), size=200)
    _check({"1m": v}, {"1m": ends}, {"1m": n})


def test_real_windows_of_two_timeframes(eth_1m_2024: Path) -> None:
    df = pd.read_csv(eth_1m_2024, usecols=range(6), nrows=20_000)
    v = df.iloc[:, 1:6].to_numpy(dtype=np.float64)
    hourly = v[: len(v) // 60 * 60].reshape(-1, 60, 5)
    h = np.column_stack(
        [
            hourly[:, 0, 0],
            hourly[:, :, 1].max(1),
            hourly[:, :, 2].min(1),
            hourly[:, -1, 3],
            hourly[:, :, 4].sum(1),
        ]
    )
    rng = np.random.default_rng(1)
    ends = {"1m": rng.integers(600, len(v), size=300), "1h": rng.integers(64, len(h), size=300)}
    _check({"1m": v, "1h": h}, ends, {"1m": 600, "1h": 64})


def test_a_window_normalisation_refuses_raises_its_error() -> None:
    v = synthetic_candles(100, "1m", start_ms=0, seed=1)[list(VALUE_COLUMNS)].to_numpy()
    v[50, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        batch_inputs({"1m": v}, {"1m": np.array([60])}, {"1m": 20})

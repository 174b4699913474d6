"""The baselines fitted on training data: ``vol_range`` and ``majority``, checked in prices."""

from __future__ import annotations

import numpy as np
import pytest

from ghostcandle.domain.actions import ACTIONS, action_from_move
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.models.majority_baseline import fit_majority
from ghostcandle.models.range_baseline import HALFLIVES, fit_vol_range
from ghostcandle.models.registry import create_model, fit_baseline

COLS = ["open", "high", "low", "close", "volume"]
W = 20
CFG = {"timeframes": ["1m"], "windows": {"1m": W}}


def _series(seed: int, n: int = 600, start_price: float = 100.0) -> np.ndarray:
    df = synthetic_candles(n, "1m", start_ms=0, seed=seed, start_price=start_price)
    return df[COLS].to_numpy()


def _forecasts(model_name: str, series: np.ndarray, ends: range, **config: object) -> np.ndarray:
    """Price forecasts of the candle after each ``series[:e]``, through the model interface."""
    m = create_model(model_name, **CFG, **config)
    inputs, params = prepare_inputs([{"1m": series[:e]} for e in ends], m.windows)
    return np.array([f.candles["1m"] for f in m.predict(inputs).forecasts(params)])


def test_vol_range_forecasts_the_last_close_and_weighted_excursions() -> None:
    s = _series(1)
    f = _forecasts("vol_range", s, range(100, 110), k_high=1.5, k_low=0.5, halflife=3.0)
    for row, e in zip(f, range(100, 110), strict=True):
        w = s[e - W : e]
        weights = 0.5 ** (np.arange(W - 2, -1, -1) / 3.0)
        weights /= weights.sum()
        up = np.maximum(w[1:, 1] - w[:-1, 3], 0) @ weights
        down = np.maximum(w[:-1, 3] - w[1:, 2], 0) @ weights
        last = w[-1, 3]
        expected = [last, last + 1.5 * up, last - 0.5 * down, last, w[:, 4].mean()]
        np.testing.assert_allclose(row, expected, rtol=1e-9)


def _mae(series: np.ndarray, **config: object) -> float:
    ends = range(W, len(series))
    f = _forecasts("vol_range", series, ends, **config)
    actual = series[list(ends)]
    return float(np.mean(np.abs(f[:, 1] - actual[:, 1]) + np.abs(f[:, 2] - actual[:, 2])))


def test_the_fit_beats_the_defaults_on_its_training_data() -> None:
    train = _series(2, n=500)
    fit = fit_vol_range([train], window=W)
    assert fit.halflife in HALFLIVES
    assert fit.windows == len(train) - W
    fitted = {"k_high": fit.k_high, "k_low": fit.k_low, "halflife": fit.halflife}
    # the fit's own error equals the one of the model's predictions over the same windows
    assert _mae(train, **fitted) == pytest.approx(fit.mae_high + fit.mae_low, rel=1e-6)
    assert _mae(train, **fitted) <= _mae(train)  # the defaults (k=1, halflife 5) are in the grid
    # a k a little off either side does worse: the closed form found the minimum
    for dk in (-0.05, 0.05):
        assert _mae(train, **{**fitted, "k_high": fit.k_high + dk}) >= _mae(train, **fitted)


def test_the_fit_reads_no_candle_after_the_training_series() -> None:
    train = _series(3, n=400)
    wild = np.concatenate([train, _series(4, n=200, start_price=5_000.0)])
    # fitted on the first 400 candles of either series: the same constants, whatever follows
    assert fit_vol_range([wild[:400]], window=W) == fit_vol_range([train], window=W)
    # ... while the last training candle (the last target) does count
    changed = train.copy()
    changed[-1, 1] += 50.0
    assert fit_vol_range([changed], window=W) != fit_vol_range([train], window=W)


def test_fit_baseline_returns_a_model_with_the_fitted_constants() -> None:
    train = _series(5, n=300)
    m = fit_baseline(create_model("vol_range", **CFG), [train], threshold=0.002)
    fit = fit_vol_range([train], window=W)
    assert (m.config()["k_high"], m.config()["k_low"]) == (fit.k_high, fit.k_low)
    assert m.version != create_model("vol_range", **CFG).version
    # too short a history: the documented defaults
    short = fit_baseline(create_model("vol_range", **CFG), [train[:5]], threshold=0.002)
    assert short.config() == create_model("vol_range", **CFG).config()
    persistence = create_model("persistence", **CFG)
    assert fit_baseline(persistence, [train], threshold=0.002) is persistence


def test_majority_counts_the_cost_aware_labels_of_its_training_moves() -> None:
    train = [_series(6, n=400), _series(7, n=300, start_price=50.0)]
    counts = [0, 0, 0]
    for s in train:
        for a, b in zip(s[:-1, 3], s[1:, 3], strict=True):
            counts[action_from_move(a, b, 0.001)] += 1
    assert fit_majority(train, threshold=0.001) == tuple(counts)
    m = fit_baseline(create_model("majority", **CFG), train, threshold=0.001)
    inputs, params = prepare_inputs([{"1m": train[0][:50]}, {"1m": train[0][:90]}], m.windows)
    out = m.predict(inputs)
    freq = np.array(counts) / sum(counts)
    np.testing.assert_allclose(out.action_probs, [freq, freq])
    for f, e in zip(out.forecasts(params), (50, 90), strict=True):
        assert f.action == ACTIONS[int(np.argmax(counts))]
        np.testing.assert_allclose(f.candles["1m"], train[0][e - 1], rtol=1e-12)


def test_majority_unfitted_is_uniform_and_bad_counts_are_refused() -> None:
    m = create_model("majority", **CFG)
    inputs, _ = prepare_inputs([{"1m": _series(8, n=30)}], m.windows)
    np.testing.assert_allclose(m.predict(inputs).action_probs, [[1 / 3, 1 / 3, 1 / 3]])
    for bad in ([1, 2], [1, -1, 0], [1.5, 0, 0], "abc"):
        with pytest.raises(UserInputError, match="three whole numbers"):
            create_model("majority", counts=bad)
    with pytest.raises(UserInputError, match="k_low"):
        create_model("vol_range", k_low=-1.0)

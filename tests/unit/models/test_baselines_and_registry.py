"""Baselines against values computed here in price space; registry and config errors; labels."""

from __future__ import annotations

import numpy as np
import pytest

from ghostcandle.domain.actions import (
    DEFAULT_MOVE_THRESHOLD,
    Action,
    action_from_move,
    actions_from_moves,
    label_threshold,
    threshold_warning,
)
from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.models.baselines import row_means
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.models.range_baseline import ewma_weights
from ghostcandle.models.registry import baseline_names, create_model, model_names

COLS = ["open", "high", "low", "close", "volume"]
CFG = {"timeframes": ["1m"], "windows": {"1m": 50}}


@pytest.fixture(scope="module")
def raw() -> list[np.ndarray]:
    """Two raw 1m windows of 60 candles (the model reads the last 50)."""
    a = synthetic_candles(60, "1m", start_ms=0, seed=11)[COLS].to_numpy()
    b = synthetic_candles(60, "1m", start_ms=0, seed=12, start_price=150.0)[COLS].to_numpy()
    return [a, b]


def _forecast(name: str, raw: list[np.ndarray], **extra: object) -> list[np.ndarray]:
    m = create_model(name, **CFG, **extra)
    inputs, params = prepare_inputs([{"1m": w} for w in raw], m.windows)
    return [np.array(f.candles["1m"]) for f in m.predict(inputs).forecasts(params)]


def test_registry_lists_every_family_and_the_baselines() -> None:
    baselines = {"persistence", "drift", "moving_average", "vol_range", "majority"}
    assert set(model_names()) == baselines | {
        "transformer", "cnn", "excursion_mlp", "dqn", "cob", "imbalance"
    }  # fmt: skip
    assert set(baseline_names()) == baselines
    assert set(baseline_names(depth=True)) == baselines | {"imbalance"}
    for name in baseline_names():
        assert create_model(name, **CFG).learns is False


def test_persistence_forecasts_exactly_the_last_candle(raw: list[np.ndarray]) -> None:
    for w, f in zip(raw, _forecast("persistence", raw), strict=True):
        assert np.array_equal(f, w[-1])


def test_drift_moves_the_close_by_the_mean_change(raw: list[np.ndarray]) -> None:
    for w, f in zip(raw, _forecast("drift", raw), strict=True):
        r = w[-50:]
        close = r[-1, 3] + np.mean(np.diff(r[:, 3]))
        top, bottom = np.maximum(r[:, 0], r[:, 3]), np.minimum(r[:, 0], r[:, 3])
        expected = [
            r[-1, 3],
            max(r[-1, 3], close) + np.mean(r[:, 1] - top),
            min(r[-1, 3], close) - np.mean(bottom - r[:, 2]),
            close,
            np.mean(r[:, 4]),
        ]
        np.testing.assert_allclose(f, expected, rtol=1e-12)


def test_moving_average_reverts_to_the_mean_close(raw: list[np.ndarray]) -> None:
    for w, f in zip(raw, _forecast("moving_average", raw, lookback=10), strict=True):
        np.testing.assert_allclose(f[3], np.mean(w[-10:, 3]), rtol=1e-12)
        assert f[0] == w[-1, 3]


def test_baseline_actions_follow_the_predicted_move(raw: list[np.ndarray]) -> None:
    m = create_model("drift", **CFG)
    inputs, params = prepare_inputs([{"1m": w} for w in raw], m.windows)
    for w, f in zip(raw, m.predict(inputs).forecasts(params), strict=True):
        up = f.candles["1m"][3] > w[-1, 3]
        assert f.action == (Action.BUY if up else Action.SELL)
        assert f.confidence == 0.5
    p = create_model("persistence", **CFG).predict(inputs)
    assert np.allclose(p.action_probs, 1 / 3)


def test_unknown_family_and_setting_are_refused_in_one_line() -> None:
    with pytest.raises(UserInputError, match="unknown model 'lstm': use one of"):
        create_model("lstm")
    with pytest.raises(UserInputError, match="has no setting colour"):
        create_model("cnn", colour="red")
    with pytest.raises(UserInputError, match="unknown timeframe"):
        create_model("persistence", timeframes=["7m"])
    with pytest.raises(UserInputError, match="windows for 1h but not those timeframes"):
        create_model("persistence", timeframes=["1m"], windows={"1h": 10})
    with pytest.raises(UserInputError, match="too short"):
        create_model("persistence", timeframes=["1m"], windows={"1m": 1})
    with pytest.raises(UserInputError, match="not divisible by heads"):
        create_model("transformer", d_model=30, heads=4)


def test_default_windows_are_600_for_the_base_timeframe() -> None:
    m = create_model("persistence")
    assert m.timeframes == ("1s", "1m", "1h", "1d")
    assert m.windows["1s"] == 600
    # timeframes are ordered finest first whatever order they are given in
    assert create_model("persistence", timeframes=["1h", "1m"]).timeframes == ("1m", "1h")


def test_move_labels_use_the_threshold() -> None:
    # the old 0.05% rule, now an explicit threshold (the default is the round-trip cost)
    assert action_from_move(100.0, 100.051, threshold=0.0005) is Action.BUY
    assert action_from_move(100.0, 99.949, threshold=0.0005) is Action.SELL
    assert action_from_move(100.0, 100.05, threshold=0.0005) is Action.HOLD
    assert action_from_move(100.0, 100.3, threshold=0.005) is Action.HOLD
    labels = actions_from_moves(np.array([100.0, 100.0, 100.0]), np.array([101.0, 99.0, 100.0]))
    assert labels.tolist() == [Action.BUY, Action.SELL, Action.HOLD]
    with pytest.raises(ValueError, match="not a fraction"):
        action_from_move(1.0, 2.0, threshold=-0.1)


def test_labels_are_net_of_the_round_trip_cost_by_default() -> None:
    cost = BrokerConfig().round_trip_cost
    assert DEFAULT_MOVE_THRESHOLD == cost == pytest.approx(0.002)
    # +0.1% does not pay 0.2% of fees: HOLD; +0.5% does: BUY; -0.5% SELL
    assert action_from_move(100.0, 100.1) is Action.HOLD
    assert action_from_move(100.0, 99.9) is Action.HOLD
    assert action_from_move(100.0, 100.5) is Action.BUY
    assert action_from_move(100.0, 99.5) is Action.SELL
    labels = actions_from_moves(np.full(4, 100.0), np.array([100.1, 100.5, 99.5, 99.9]))
    assert labels.tolist() == [Action.HOLD, Action.BUY, Action.SELL, Action.HOLD]
    # a slippage assumption raises the floor: costs are the broker's, in one place
    assert BrokerConfig(slippage_bps=5).round_trip_cost == pytest.approx(0.003)
    assert threshold_warning(0.0005) is not None
    assert threshold_warning(0.002) is None
    assert label_threshold(relative_range=0.001, range_multiple=1.0) == cost
    assert label_threshold(relative_range=0.004, range_multiple=1.0) == pytest.approx(0.004)


@pytest.mark.parametrize("name", sorted(baseline_names()))
@pytest.mark.parametrize("asked", [["1m"], ["1h"], ["1h", "1m"]])
def test_a_baseline_asked_for_some_timeframes_forecasts_them_as_predict_does(
    name: str, asked: list[str]
) -> None:
    m = create_model(name, timeframes=["1m", "1h"], windows={"1m": 30, "1h": 12})
    rng = np.random.default_rng(3)
    sample = {}
    # 1m rises and 1h falls: an action read off the wrong timeframe differs
    for (tf, n), trend in zip(m.windows.items(), (0.5, -0.5), strict=True):
        c = 100 + np.cumsum(rng.normal(trend, 0.1, (n,)))
        sample[tf] = np.column_stack(
            [
                c - trend,
                c + rng.uniform(0, 1, n),
                c - 1 - rng.uniform(0, 1, n),
                c,
                rng.uniform(1, 9, n),
            ]
        )
    inputs, params = prepare_inputs([sample], m.windows)
    whole = m.predict(inputs).forecasts(params)[0]
    some = m.predict_only(inputs, asked).forecasts(params, asked)[0]  # type: ignore[attr-defined]
    assert sorted(some.candles) == sorted(asked)
    for tf in asked:
        assert some.candles[tf] == whole.candles[tf]
    assert (some.action, some.probabilities) == (whole.action, whole.probabilities)
    if name in ("drift", "moving_average"):  # the action follows the base (1m) forecast
        up = whole.candles["1m"][3] > sample["1m"][-1, 3]
        assert whole.action == (Action.BUY if up else Action.SELL)


def test_row_means_are_numpys_means_bit_for_bit() -> None:
    rng = np.random.default_rng(4)
    for length in (1, 2, 7, 8, 9, 29, 30, 64, 129, 600):
        for scale in (1e-9, 1.0, 3e4):
            x = rng.normal(size=(3, length)) * scale + rng.normal() * scale
            assert row_means(x).tobytes() == np.mean(x, axis=1).tobytes()
            strided = rng.normal(size=(2, length, 5))[:, :, 4]  # a column: not contiguous
            assert row_means(strided).tobytes() == np.mean(strided, axis=1).tobytes()


def test_ewma_weights_are_kept_read_only_and_equal_to_their_formula() -> None:
    w = ewma_weights(29, 5.0)
    assert w is ewma_weights(29, 5.0)
    with pytest.raises(ValueError, match="read-only"):
        w[0] = 1.0
    expected = 0.5 ** (np.arange(28, -1, -1) / 5.0)
    assert np.allclose(w, expected / expected.sum(), rtol=1e-15, atol=0)

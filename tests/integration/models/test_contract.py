"""The generic contract every registered model must keep (River's ``check_estimator`` idea)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import torch

from ghostcandle.models.base import Model, ModelOutputs
from ghostcandle.models.registry import baseline_names, create_model, model_names

from .conftest import SMALL, make_batch


def _flat(state: Any) -> list[Any]:
    """Every leaf of a state, tensors as numpy arrays, in a stable order."""
    if isinstance(state, torch.Tensor):
        return [state.detach().numpy().copy()]
    if isinstance(state, Mapping):
        return [x for k in sorted(state, key=str) for x in [k, *_flat(state[k])]]
    if isinstance(state, list | tuple):
        return [x for v in state for x in _flat(v)]
    return [state]


def _same_state(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    fa, fb = _flat(a), _flat(b)
    if len(fa) != len(fb):
        return False
    for x, y in zip(fa, fb, strict=True):
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
                return False
            if x.shape != y.shape or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def _same_outputs(a: ModelOutputs, b: ModelOutputs) -> bool:
    return np.array_equal(a.action_probs, b.action_probs) and all(
        np.array_equal(a.candles[tf], b.candles[tf]) for tf in a.candles
    )


@pytest.fixture(params=model_names())
def name(request: pytest.FixtureRequest) -> str:
    """Every registered family."""
    return str(request.param)


def _model(name: str, seed: int = 0) -> Model:
    return create_model(name, seed=seed, **SMALL)


def test_predict_gives_valid_candles_and_probabilities(name: str) -> None:
    m = _model(name)
    inputs, _ = make_batch(m, seed=1)
    out = m.predict(inputs)
    assert set(out.candles) == set(m.timeframes)
    for c in out.candles.values():
        assert c.shape == (4, 5)
        assert np.isfinite(c).all()
        assert (c[:, 1] >= np.maximum(c[:, 0], c[:, 3])).all()
        assert (c[:, 2] <= np.minimum(c[:, 0], c[:, 3])).all()
        assert (c[:, 4] >= 0).all()
    assert out.action_probs.shape == (4, 3)
    np.testing.assert_allclose(out.action_probs.sum(axis=1), 1.0, rtol=1e-6)
    assert np.array_equal(out.confidence, out.action_probs.max(axis=1))


def test_predict_only_gives_predicts_figures_for_the_timeframes_asked(name: str) -> None:
    """What the loop calls where a family offers it (the timeframe whose candle closed)."""
    m = _model(name)
    only = getattr(m, "predict_only", None)
    if only is None:
        pytest.skip(f"{name} turns every timeframe into candles (no predict_only)")
    inputs, _ = make_batch(m, seed=1)
    whole = m.predict(inputs)
    for tf in m.timeframes:
        part = only(inputs, (tf,))
        assert set(part.candles) == {tf}
        assert np.array_equal(part.candles[tf], whole.candles[tf])
        assert np.array_equal(part.action_probs, whole.action_probs)
    # the batched backtest trades the action alone: no candle asked
    bare = only(inputs, ())
    assert bare.candles == {}
    assert np.array_equal(bare.action_probs, whole.action_probs)


def test_state_round_trips_through_a_weights_only_file(name: str) -> None:
    trained = _model(name)
    inputs, batch = make_batch(trained, seed=2)
    trained.train_step(batch)
    buf = io.BytesIO()
    torch.save(trained.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)

    fresh = _model(name)
    fresh.load_state_dict(state)
    assert fresh.step == trained.step
    assert fresh.version == trained.version
    assert _same_outputs(fresh.predict(inputs), trained.predict(inputs))
    # the optimiser state came along too: the next step is the same on both
    _, batch2 = make_batch(trained, seed=3)
    assert fresh.train_step(batch2) == trained.train_step(batch2)
    assert _same_state(fresh.state_dict(), trained.state_dict())


def test_state_of_another_family_or_config_is_refused(name: str) -> None:
    other = "persistence" if name != "persistence" else "drift"
    with pytest.raises(ValueError, match="does not fit"):
        _model(name).load_state_dict(_model(other).state_dict())
    with pytest.raises(ValueError, match="does not fit"):
        _model(name).load_state_dict(_model(name, seed=9).state_dict())


def test_same_seed_same_predictions_and_training(name: str) -> None:
    a, b = _model(name, seed=4), _model(name, seed=4)
    inputs, batch = make_batch(a, seed=5)
    assert _same_outputs(a.predict(inputs), b.predict(inputs))
    for _ in range(2):
        assert a.train_step(batch) == b.train_step(batch)
    assert _same_outputs(a.predict(inputs), b.predict(inputs))
    if a.learns:
        c = _model(name, seed=5)
        assert not _same_outputs(a.predict(inputs), c.predict(inputs))


def test_predict_leaves_the_model_unchanged(name: str) -> None:
    m = _model(name)
    inputs, batch = make_batch(m, seed=6)
    m.train_step(batch)  # optimiser state exists, so it is checked too
    before, version = m.state_dict(), m.version
    first = m.predict(inputs)
    for _ in range(3):
        m.predict(inputs)
    assert _same_state(m.state_dict(), before)
    assert m.version == version
    assert _same_outputs(m.predict(inputs), first)


def test_train_step_changes_weights_or_declares_it_never_learns(name: str) -> None:
    m = _model(name)
    inputs, batch = make_batch(m, seed=7)
    before, out_before, version = m.state_dict(), m.predict(inputs), m.version
    losses = m.train_step(batch)
    if m.learns:
        assert not _same_state(m.state_dict(), before)
        assert not _same_outputs(m.predict(inputs), out_before)
        assert m.step == 1
        assert m.version != version
        assert set(losses) >= {"loss", "candle.1m", "candle.1h", "action"}
        assert losses["loss"] == pytest.approx(
            sum(v for k, v in losses.items() if k != "loss"), rel=1e-5
        )
    else:
        assert losses == {}
        assert _same_state(m.state_dict(), before)
        assert m.step == 0
        assert m.version == version


@pytest.mark.parametrize(
    "learner", [n for n in model_names() if n not in baseline_names(depth=True)]
)
def test_training_on_one_batch_lowers_its_loss(learner: str) -> None:
    m = _model(learner)
    _, batch = make_batch(m, seed=8)
    first = m.train_step(batch)["loss"]
    for _ in range(25):
        last = m.train_step(batch)["loss"]
    assert last < 0.7 * first


def test_clone_is_independent(name: str) -> None:
    m = _model(name)
    inputs, batch = make_batch(m, seed=9)
    copy = m.clone()
    assert _same_outputs(copy.predict(inputs), m.predict(inputs))
    before = m.state_dict()
    copy.train_step(batch)
    assert _same_state(m.state_dict(), before)


@pytest.mark.parametrize(
    "learner", [n for n in model_names() if n not in baseline_names(depth=True)]
)
def test_a_clone_trains_on_exactly_as_the_original(learner: str) -> None:
    m = _model(learner)
    _, batch = make_batch(m, seed=10)
    m.train_step(batch)  # optimiser state to copy
    copy = m.clone()
    for _ in range(2):
        m.train_step(batch)
        copy.train_step(batch)
    assert _same_state(copy.state_dict(), m.state_dict())

"""The excursion_mlp family: window-only features, its heads and loss, abstaining, registration."""

from __future__ import annotations

import doctest
from types import ModuleType

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.models import excursion_heads, features
from ghostcandle.models.excursion_heads import Scales, abstain, excursion_losses, pinball
from ghostcandle.models.excursion_mlp import ExcursionModel
from ghostcandle.models.features import feature_size, window_features
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.models.registry import baseline_names, create_model, model_names

COLS = ["open", "high", "low", "close", "volume"]
MIN = 60_000
SETTINGS = {"timeframes": ["1m"], "windows": {"1m": 48}, "recent": 8, "halflife": 6.0}


@pytest.mark.parametrize("module", [features, excursion_heads])
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0


def test_is_a_registered_learning_family_so_the_contract_suite_runs_on_it() -> None:
    assert "excursion_mlp" in model_names()
    assert "excursion_mlp" not in baseline_names()
    assert create_model("excursion_mlp", **SETTINGS).learns


def _series(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    df = synthetic_candles(n, "1m", start_ms=0, seed=seed)
    return df["open_time"].to_numpy(np.int64), df[COLS].to_numpy(np.float64)


def _known_at(times: np.ndarray, values: np.ndarray, t: int) -> np.ndarray:
    """Every candle closed by ``t`` (close_time <= t): all a decision at ``t`` may read."""
    return values[times + MIN <= t]


def test_features_read_only_candles_closed_by_the_decision_time() -> None:
    times, values = _series(1)
    model = create_model("excursion_mlp", **SETTINGS)
    t = int(times[120]) + MIN  # the close of candle 120
    before = _known_at(times, values, t)
    inputs, _ = prepare_inputs([{"1m": before}], model.windows)
    feats = window_features(torch.from_numpy(inputs.windows["1m"]).float(), 8, 6.0)
    out = model.predict(inputs)

    mutated = values.copy()
    later = times + MIN > t
    rng = np.random.default_rng(0)
    mutated[later] *= rng.uniform(0.5, 2.0, size=(int(later.sum()), 1))
    again, _ = prepare_inputs([{"1m": _known_at(times, mutated, t)}], model.windows)
    assert np.array_equal(again.windows["1m"], inputs.windows["1m"])
    feats_again = window_features(torch.from_numpy(again.windows["1m"]).float(), 8, 6.0)
    assert torch.equal(feats_again, feats)
    out_again = model.predict(again)
    assert np.array_equal(out_again.candles["1m"], out.candles["1m"])
    assert np.array_equal(out_again.action_probs, out.action_probs)

    # the test can fail: changing the last candle the decision may read does change them
    touched = mutated.copy()
    touched[120, 1] += 5.0
    moved, _ = prepare_inputs([{"1m": _known_at(times, touched, t)}], model.windows)
    moved_feats = window_features(torch.from_numpy(moved.windows["1m"]).float(), 8, 6.0)
    assert not torch.equal(moved_feats, feats)


def test_features_are_finite_scale_free_and_of_the_announced_size() -> None:
    _, values = _series(2, 60)
    w = torch.from_numpy(values[None]).double()
    f = window_features(w, 16, 8.0)
    assert f.shape == (1, feature_size(16, 60))
    assert torch.isfinite(f).all()
    # prices times 3 (another symbol's level), volume times 7: the same features, up to the
    # small constants that keep flat windows and zero volume finite
    scaled = w.clone()
    scaled[..., :4] *= 3.0
    scaled[..., 4] *= 7.0
    windows = {"1m": 60}
    a, _ = prepare_inputs([{"1m": w[0].numpy()}], windows)
    b, _ = prepare_inputs([{"1m": scaled[0].numpy()}], windows)
    fa = window_features(torch.from_numpy(a.windows["1m"]), 16, 8.0)
    fb = window_features(torch.from_numpy(b.windows["1m"]), 16, 8.0)
    torch.testing.assert_close(fa, fb, rtol=0, atol=1e-3)
    flat = torch.ones(1, 30, 5)
    assert torch.isfinite(window_features(flat, 16, 8.0)).all()


@settings(max_examples=60, deadline=None)
@given(
    p=st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3).filter(lambda v: sum(v) > 1e-3),
    threshold=st.floats(0.0, 1.0),
)
def test_abstain_turns_only_unsure_trades_into_hold(p: list[float], threshold: float) -> None:
    probs = torch.tensor([p], dtype=torch.float64)
    probs = probs / probs.sum()
    out = abstain(probs, threshold)
    top, which = probs.max(dim=1)
    torch.testing.assert_close(out.sum(dim=1), torch.ones(1, dtype=torch.float64))
    if int(which) != 0 and float(top) < threshold:
        assert int(out.argmax(dim=1)) == 0  # flat
        assert float(out[0, 0]) >= float(probs[0, 0])
        # BUY and SELL keep their ratio: only mass moved onto HOLD
        torch.testing.assert_close(out[0, 1] * probs[0, 2], out[0, 2] * probs[0, 1])
    else:
        assert torch.equal(out, probs)


def test_model_abstains_to_hold_below_its_min_confidence() -> None:
    _, values = _series(3)
    samples = [{"1m": values[: 60 + 5 * k]} for k in range(20)]
    sure = create_model("excursion_mlp", **SETTINGS, min_confidence=1.0)
    never = create_model("excursion_mlp", **SETTINGS, min_confidence=0.0)
    inputs, _ = prepare_inputs(samples, sure.windows)
    # bias the untrained action head towards BUY so that it would trade
    for m in (sure, never):
        assert isinstance(m, ExcursionModel)
        with torch.no_grad():
            m.net.action_head.bias.copy_(torch.tensor([0.0, 1.5, 0.0]))
    a, b = sure.predict(inputs), never.predict(inputs)
    assert (b.actions == 1).all()
    assert (a.actions == 0).all()
    assert np.array_equal(a.candles["1m"], b.candles["1m"])
    with pytest.raises(UserInputError, match="min_confidence"):
        create_model("excursion_mlp", **SETTINGS, min_confidence=1.5)


def test_pinball_at_the_median_is_minimised_by_the_median() -> None:
    rng = np.random.default_rng(4)
    y = torch.from_numpy(rng.exponential(1.0, 501))  # skewed: mean 1, median log 2
    grid = torch.linspace(0.0, 3.0, 3001, dtype=torch.float64)
    loss = torch.stack([pinball(y, g.expand_as(y), 0.5).mean() for g in grid])
    best = float(grid[int(loss.argmin())])
    assert best == pytest.approx(float(y.median()), abs=2e-3)
    # the 0.9 quantile loss punishes under-forecasts nine times as hard
    assert float(pinball(torch.tensor(1.0), torch.tensor(0.0), 0.9)) == pytest.approx(0.9)
    assert float(pinball(torch.tensor(0.0), torch.tensor(1.0), 0.9)) == pytest.approx(0.1)


def test_heads_give_valid_candles_and_targets_invert_them() -> None:
    g = torch.Generator().manual_seed(5)
    w = torch.from_numpy(_series(5, 40)[1][None].repeat(64, axis=0)).float()
    scales = Scales.of(w, 8.0)
    raw = torch.randn(64, 4, generator=g) * 2
    c = scales.candle(raw)
    assert (c[:, 1] >= torch.maximum(c[:, 0], c[:, 3])).all()
    assert (c[:, 2] <= torch.minimum(c[:, 0], c[:, 3])).all()
    assert (c[:, 4] >= 0).all()
    # where the excursions reach past the close, the targets of the forecast are the heads
    y, f = scales.targets(c), scales.forecasts(raw)
    reach = (f[:, 1] >= f[:, 0].clamp_min(0)) & (f[:, 2] >= (-f[:, 0]).clamp_min(0))
    assert bool(reach.any())
    torch.testing.assert_close(y[reach, :3], f[reach, :3], rtol=1e-4, atol=1e-4)


def test_loss_ignores_unknown_targets_and_its_parts_sum_to_the_total() -> None:
    w = torch.from_numpy(_series(6, 40)[1][None].repeat(4, axis=0)).float()
    scales = {"1m": Scales.of(w, 8.0), "1h": Scales.of(w, 8.0)}
    raw = {"1m": torch.zeros(4, 4), "1h": torch.zeros(4, 4)}
    target = w[:, -1].clone()
    unknown = torch.full((4, 5), float("nan"))
    parts = excursion_losses(
        raw,
        scales,
        torch.zeros(4, 3),
        {"1m": target, "1h": unknown},
        torch.full((4,), -1),
        None,
        1.0,
    )
    assert set(parts) == {"candle.1m", "loss"}  # no 1h target known, no label: left out
    assert torch.isfinite(parts["loss"])
    assert float(parts["loss"]) == pytest.approx(float(parts["candle.1m"]))
    with pytest.raises(ValueError, match="nothing to learn"):
        excursion_losses(
            raw, scales, torch.zeros(4, 3), {"1m": unknown}, torch.full((4,), -1), None, 1.0
        )

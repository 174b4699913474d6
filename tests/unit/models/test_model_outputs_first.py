"""A model's first sample turned into prices alone is what a batch's ``forecasts`` give it."""

from __future__ import annotations

import numpy as np

from ghostcandle.domain.normalisation import param_keys
from ghostcandle.models.base import ModelOutputs


def _params(rng: np.random.Generator) -> dict[str, float]:
    keys = param_keys("1m")
    return {keys[0]: float(rng.uniform(100, 5000)), keys[1]: float(rng.uniform(0.1, 9)),
            keys[2]: float(rng.uniform(1, 1000))}  # fmt: skip


def test_first_is_the_first_forecast_including_ties_and_nan() -> None:
    rng = np.random.default_rng(3)
    probs = [rng.dirichlet([1, 1, 1], size=2) for _ in range(200)]
    probs += [np.array([[0.4, 0.4, 0.2]] * 2), np.array([[0.25, 0.375, 0.375]] * 2),
              np.array([[1 / 3] * 3] * 2), np.array([[0.2, np.nan, 0.8]] * 2),
              np.array([[np.nan, 0.5, 0.5]] * 2)]  # fmt: skip
    actions = set()
    for p in probs:
        out = ModelOutputs(candles={"1m": rng.normal(size=(2, 5))}, action_probs=p)
        params = _params(rng)
        want = out.forecasts([params, params], ["1m"])[0]
        candle, action, probabilities, confidence = out.first(params, "1m")
        assert candle == want.candles["1m"]
        assert action is want.action
        assert np.array_equal(probabilities, want.probabilities, equal_nan=True)
        assert np.array_equal(confidence, want.confidence, equal_nan=True)
        actions.add(action)
    assert len(actions) == 3

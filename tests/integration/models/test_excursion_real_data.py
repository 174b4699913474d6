"""excursion_mlp on real ETH/USDT 1m candles: trained on earlier days, it forecasts the next
candle's high and low better than persistence on a later day it never saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ghostcandle.domain.actions import actions_from_moves
from ghostcandle.domain.normalisation import normalise_windows, window_scales
from ghostcandle.models.base import ModelInputs
from ghostcandle.models.inputs import training_batch
from ghostcandle.models.registry import create_model

COLS = ["open", "high", "low", "close", "volume"]
WINDOW = 60
DAY = 1440


def _batch(values: np.ndarray, ends: np.ndarray) -> tuple[ModelInputs, dict[str, np.ndarray]]:
    """Windows ending at candle ``ends[k]`` (inclusive) and the candle after each, normalised."""
    raw = values[ends[:, None] + np.arange(-WINDOW + 1, 1)]
    scales = window_scales("1m", raw)
    inputs = ModelInputs(windows={"1m": normalise_windows(raw, scales)})
    nxt = values[ends + 1]
    target = np.empty_like(nxt)
    target[:, :4] = (nxt[:, :4] - scales.price_ref[:, None]) / scales.price_scale[:, None]
    target[:, 4] = nxt[:, 4] / scales.volume_scale
    return inputs, {"1m": target.astype(np.float32)}


def test_learns_the_next_high_and_low_better_than_persistence(eth_1m_2024: Path) -> None:
    values = pd.read_csv(eth_1m_2024, nrows=5 * DAY)[COLS].to_numpy(np.float64)
    model = create_model("excursion_mlp", timeframes=["1m"], windows={"1m": WINDOW})
    train_ends = np.arange(WINDOW - 1, 4 * DAY - 1)
    rng = np.random.default_rng(0)
    for _ in range(2):
        order = rng.permutation(train_ends)
        for b in range(0, len(order) - 255, 256):
            ends = np.sort(order[b : b + 256])
            inputs, targets = _batch(values, ends)
            labels = actions_from_moves(values[ends, 3], values[ends + 1, 3])
            model.train_step(training_batch(inputs, targets, labels))

    test_ends = np.arange(4 * DAY, 5 * DAY - 1)  # the fifth day: never trained on
    inputs, _ = _batch(values, test_ends)
    out = model.predict(inputs)
    scales = window_scales("1m", values[test_ends[:, None] + np.arange(-WINDOW + 1, 1)])
    pred = out.candles["1m"][:, 1:3] * scales.price_scale[:, None] + scales.price_ref[:, None]
    actual = values[test_ends + 1, 1:3]
    persistence = values[test_ends, 1:3]
    skill = np.abs(pred - actual).mean(axis=0) / np.abs(persistence - actual).mean(axis=0)
    assert (skill < 0.85).all(), f"high/low skill vs persistence {skill}"

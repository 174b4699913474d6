"""Small real batches for the model, trainer and checkpoint tests (short windows keep them fast)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

from ghostcandle.domain.actions import actions_from_moves
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.models.base import Model, ModelInputs, TrainingBatch
from ghostcandle.models.depth_input import depth_window, with_depth
from ghostcandle.models.inputs import normalise_targets, prepare_inputs, training_batch

COLS = ["open", "high", "low", "close", "volume"]
#: Settings every model in these tests is built with: two timeframes, short windows.
SMALL: dict[str, Any] = {"timeframes": ["1m", "1h"], "windows": {"1m": 40, "1h": 12}}


def raw_series(seed: int, n: int = 120) -> np.ndarray:
    """Return ``n`` synthetic OHLCV rows."""
    return synthetic_candles(n, "1m", start_ms=0, seed=seed)[COLS].to_numpy()


def books_around(closes: np.ndarray, count: int, seed: int, levels: int = 20) -> np.ndarray:
    """Return ``count`` random books of ``levels`` levels per sample around its last close."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(closes), count, levels, 4))
    for i, close in enumerate(closes):
        tick = close * 1e-4
        mids = close + np.cumsum(rng.normal(0.0, tick, count))
        steps = np.cumsum(rng.integers(1, 3, (count, 2, levels)), axis=2) * tick
        out[i, :, :, 0] = mids[:, None] - steps[:, 0]
        out[i, :, :, 2] = mids[:, None] + steps[:, 1]
        out[i, :, :, 1] = rng.lognormal(0.0, 1.0, (count, levels))
        out[i, :, :, 3] = rng.lognormal(0.0, 1.0, (count, levels))
    return out


def make_batch(model: Model, seed: int, size: int = 4) -> tuple[ModelInputs, TrainingBatch]:
    """Return inputs and a labelled batch: each sample's window and the candle after it.

    A model that reads the order book also gets random books around each sample's last close.
    """
    m = raw_series(seed)
    h = raw_series(seed + 1000)
    ends = [60 + 10 * i for i in range(size)]
    samples = [{"1m": m[:e], "1h": h[:e]} for e in ends]
    inputs, params = prepare_inputs(samples, model.windows)
    if depth_window(model):
        inputs = with_depth(
            inputs, books_around(m[[e - 1 for e in ends], 3], depth_window(model), seed)
        )
    targets = normalise_targets([{"1m": m[e], "1h": h[e]} for e in ends], params, model.timeframes)
    labels = actions_from_moves(m[[e - 1 for e in ends], 3], m[ends, 3])
    return inputs, training_batch(inputs, targets, labels)


@pytest.fixture
def batch_for() -> Callable[..., tuple[ModelInputs, TrainingBatch]]:
    """Return ``make_batch``."""
    return make_batch


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread here: on 2 shared cores, more threads only contend."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

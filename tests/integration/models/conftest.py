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
from ghostcandle.models.inputs import normalise_targets, prepare_inputs, training_batch

COLS = ["open", "high", "low", "close", "volume"]
#: Settings every model in these tests is built with: two timeframes, short windows.
SMALL: dict[str, Any] = {"timeframes": ["1m", "1h"], "windows": {"1m": 40, "1h": 12}}


def raw_series(seed: int, n: int = 120) -> np.ndarray:
    """Return ``n`` synthetic OHLCV rows."""
    return synthetic_candles(n, "1m", start_ms=0, seed=seed)[COLS].to_numpy()


def make_batch(model: Model, seed: int, size: int = 4) -> tuple[ModelInputs, TrainingBatch]:
    """Return inputs and a labelled batch: each sample's window and the candle after it."""
    m = raw_series(seed)
    h = raw_series(seed + 1000)
    ends = [60 + 10 * i for i in range(size)]
    samples = [{"1m": m[:e], "1h": h[:e]} for e in ends]
    inputs, params = prepare_inputs(samples, model.windows)
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

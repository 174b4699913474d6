"""The fit's batch cache: the dataset's very batches (at float32), and the same training.

Real torch training on a real DuckDB file of synthetic candles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.offline.batch_cache import BatchCache
from ghostcandle.engine.offline.dataset import DecisionDataset, load_dataset
from ghostcandle.engine.offline.trainer import FitSettings, fit, split_in_time
from ghostcandle.models.base import TrainingBatch
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

if TYPE_CHECKING:
    from conftest import OfflineData

WINDOWS = {"1m": 30, "1h": 4}


def _dataset(offline: OfflineData) -> DecisionDataset:
    with Database(offline.path) as db:
        return load_dataset(
            CandleStore(db), offline.symbol, ["1m", "1h"], WINDOWS, offline.start, offline.end
        )


def _same(cached: TrainingBatch, fresh: TrainingBatch, dtype: type = np.float32) -> None:
    for tf, w in fresh.inputs.windows.items():
        got = cached.inputs.windows[tf]
        assert got.dtype == dtype
        assert np.array_equal(got, w.astype(dtype))
    assert set(cached.targets) == set(fresh.targets)
    for tf, t in fresh.targets.items():
        assert np.array_equal(cached.targets[tf], t, equal_nan=True)
    assert np.array_equal(cached.actions, fresh.actions)


def test_a_cached_batch_is_the_dataset_batch_first_drawn_and_drawn_again(
    offline: OfflineData,
) -> None:
    data = _dataset(offline)
    split = split_in_time(data, np.arange(len(data)), 0.2)
    cache = BatchCache(data, split.train)
    rng = np.random.default_rng(4)
    first = np.sort(rng.choice(split.train, 64, replace=False))
    _same(cache.batch(first), data.batch(first))  # normalised now
    overlapping = np.sort(np.concatenate([first[:32], rng.choice(split.train, 32)]))
    _same(cache.batch(overlapping), data.batch(overlapping))  # half gathered, half normalised
    _same(cache.batch(first), data.batch(first))  # gathered
    outside = np.concatenate([first[:4], split.val[:4]])  # not all training rows: sliced
    _same(cache.batch(outside), data.batch(outside), np.float64)


def test_a_fit_trains_the_same_weights_with_the_cache_as_without(offline: OfflineData) -> None:
    data = _dataset(offline)
    split = split_in_time(data, np.arange(len(data)), 0.2)
    cfg = {"timeframes": ["1m", "1h"], "windows": WINDOWS, "channels": 8, "hidden": 16}
    results = [
        fit(
            create_model("cnn", **cfg),
            data,
            split,
            FitSettings(epochs=3, batch_size=64, patience=3, cache_mb=cache_mb),
            clock=ReplayClock(0),
        )
        for cache_mb in (0, 64)
    ]
    plain, cached = (r.model.state_dict() for r in results)
    assert plain["step"] == cached["step"] > 0
    for name, w in plain["weights"].items():
        assert torch.equal(w, cached["weights"][name]), name
    assert [e.train_loss for e in results[0].epochs] == [e.train_loss for e in results[1].epochs]

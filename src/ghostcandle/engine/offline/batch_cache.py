"""The training rows' batches of a fit, normalised once and gathered in later epochs.

A fit trains on the same rows epoch after epoch, and a row's batch entry (its windows, each
normalised on its own, its normalised target and its label) never depends on the batch it is
drawn in. So the first time a row is drawn its entry is kept, as float32 (what a torch model
casts its inputs to before anything else, so the step sees the same bits), and a later epoch's
batch is one gather per array instead of slicing and normalising the windows again.

Only torch families are cached (another family may read its inputs at float64), and only while
the arrays fit in the fit's ``cache_mb``; above that every batch is sliced from the series as
before.
"""

from __future__ import annotations

import numpy as np

from ghostcandle.engine.offline.dataset import DecisionDataset
from ghostcandle.models.base import Model, ModelInputs, TrainingBatch
from ghostcandle.models.inputs import training_batch
from ghostcandle.models.torch_model import TorchModel


class BatchCache:
    """Batches of ``rows`` (a fit's training rows) of ``data``, each row normalised once."""

    def __init__(self, data: DecisionDataset, rows: np.ndarray) -> None:
        self.data = data
        n = len(rows)
        #: dataset row -> position in the arrays (-1: not a row of this cache)
        self._pos = np.full(len(data), -1, dtype=np.int64)
        self._pos[rows] = np.arange(n)
        self._filled = np.zeros(n, dtype=bool)
        self._windows = {
            tf: np.empty((n, length, 5), dtype=np.float32) for tf, length in data.windows.items()
        }
        self._target = np.empty((n, 5), dtype=np.float32)

    @staticmethod
    def nbytes(data: DecisionDataset, rows: np.ndarray) -> int:
        """Return the bytes a cache of ``rows`` holds."""
        return len(rows) * 4 * 5 * (1 + sum(data.windows.values()))

    @classmethod
    def for_fit(
        cls, model: Model, data: DecisionDataset, rows: np.ndarray, limit_bytes: int
    ) -> BatchCache | None:
        """Return a cache of ``rows`` for ``model``'s fit, or None where it does not apply.

        A month of 1m rows with two 120-candle windows takes ~140 MB.
        """
        if not isinstance(model, TorchModel) or cls.nbytes(data, rows) > limit_bytes:
            return None
        return cls(data, rows)

    def batch(self, rows: np.ndarray) -> TrainingBatch:
        """Return ``data.batch(rows)`` with float32 inputs, from the cache where it can."""
        pos = self._pos[rows]
        if (pos < 0).any():  # not a training row of this fit: slice it as the dataset does
            return self.data.batch(rows)
        missing = ~self._filled[pos]
        if missing.any():
            self._fill(rows[missing], pos[missing])
        tf = self.data.target_timeframe
        targets = {
            t: np.full((len(rows), 5), np.nan, dtype=np.float32) for t in self.data.timeframes
        }
        targets[tf] = self._target[pos]
        inputs = ModelInputs(windows={t: w[pos] for t, w in self._windows.items()})
        return training_batch(inputs, targets, self.data.labels[rows])

    def _fill(self, rows: np.ndarray, pos: np.ndarray) -> None:
        fresh = self.data.batch(rows)
        for tf, w in self._windows.items():
            w[pos] = fresh.inputs.windows[tf]
        self._target[pos] = fresh.targets[self.data.target_timeframe]
        self._filled[pos] = True

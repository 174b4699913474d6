"""An offline fit's batches by reference: what a recorded step stores and how it is rebuilt.

A fit's run names its dataset (``decisions``: symbol, timeframes, windows, range, label
threshold); each step names its rows in that dataset, in batch order, and their importance
weights (None: unweighted), with the ids of the ``candle`` training samples the rows are (the
ids the fit records for its training decisions). A replay loads the dataset once from the stored
candles and slices the same rows: a candle changed since gives another batch, and the replayed
weights then hash differently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ghostcandle.domain.frames import make_frame_id
from ghostcandle.domain.samples import SampleSource, make_sample_id
from ghostcandle.engine.offline.dataset import DecisionDataset, load_dataset
from ghostcandle.engine.training.replay_step import BatchSource
from ghostcandle.models.base import TrainingBatch
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.step_records import StepRecord
from ghostcandle.store.training_runs import RunRow

DECISIONS = "decisions"


def frame_model(model: str) -> str:
    """Return the model name an offline fit's frames are recorded under."""
    return f"offline/{model}"


def dataset_source(data: DecisionDataset, start: int, end: int) -> dict[str, Any]:
    """Return the run's ``source``: how ``load_dataset`` loads ``data`` again."""
    return {
        "kind": DECISIONS,
        "symbol": data.symbol,
        "timeframes": list(data.timeframes),
        "windows": dict(data.windows),
        "start": int(start),
        "end": int(end),
        "threshold": float(data.threshold),
    }


def sample_ids(data: DecisionDataset, rows: np.ndarray, model: str) -> list[str]:
    """Return the ids of the ``candle`` samples decisions ``rows`` are recorded as."""
    name = frame_model(model)
    out = []
    for i, label in zip(rows.tolist(), data.labels[rows].tolist(), strict=True):
        frame_id = make_frame_id(name, data.symbol, int(data.decision_time[i]), data.specs(i))
        out.append(make_sample_id(SampleSource.CANDLE, frame_id, "", int(label)))
    return out


def step_refs(
    data: DecisionDataset, rows: np.ndarray, weights: np.ndarray | None, model: str
) -> dict[str, Any]:
    """Return the ``source_refs`` of the batch of ``rows`` (with ``weights``, if any)."""
    return {
        "kind": DECISIONS,
        "id_kind": "sample",
        "ids": sample_ids(data, rows, model),
        "rows": [int(r) for r in rows.tolist()],
        "weights": None if weights is None else [float(w) for w in weights.tolist()],
    }


def decisions_source(db: Database, run: RunRow) -> BatchSource:
    """Rebuild a fit's batches from its dataset, loaded once from the stored candles."""
    src = run.source
    data = load_dataset(
        CandleStore(db),
        str(src["symbol"]),
        [str(t) for t in src["timeframes"]],
        {str(k): int(v) for k, v in src["windows"].items()},
        int(src["start"]),
        int(src["end"]),
        threshold=float(src["threshold"]),
    )

    def rebuild(rec: StepRecord) -> TrainingBatch:
        rows = np.asarray(rec.batch_refs["rows"], dtype=np.int64)
        batch = data.batch(rows)
        w = rec.batch_refs.get("weights")
        if w is None:
            return batch
        return TrainingBatch(
            batch.inputs, batch.targets, batch.actions, np.asarray(w, dtype=np.float32)
        )

    return rebuild

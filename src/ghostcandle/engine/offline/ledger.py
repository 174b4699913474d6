"""Predictions on decision points as ledger rows, ready for ``evaluation.report.evaluate``.

Every decision is predicted in batches from its frame and laid out as a resolved row of the
prediction ledger: the forecast of the target candle in prices (through the input window's
own normalisation), the action and its probabilities, the actual candle, and whether the
action matched the label of the move (the dataset's, net of round-trip costs). The rows of a
learning model and of every baseline on the same decisions share their targets, so the
evaluation scores skill on exactly the same targets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ghostcandle.domain.actions import ACTIONS
from ghostcandle.domain.normalisation import WindowScales
from ghostcandle.engine.evaluation.metrics import FIELDS
from ghostcandle.engine.offline.dataset import DecisionDataset
from ghostcandle.models.base import Model

#: Decisions predicted at once.
PREDICT_BATCH = 1024
_NAMES = np.array([a.name for a in ACTIONS])


def to_prices(norm: np.ndarray, scales: WindowScales) -> np.ndarray:
    """Turn normalised ``(B, 5)`` candles into prices and volume, each with its own scales.

    The inverse of ``domain.normalisation.normalise_windows`` row by row (``denormalise`` of
    one candle, for a batch).
    """
    v = np.asarray(norm, dtype=np.float64)
    out = np.empty_like(v)
    out[:, :4] = v[:, :4] * scales.price_scale[:, None] + scales.price_ref[:, None]
    out[:, 4] = v[:, 4] * scales.volume_scale
    return out


def ledger_frame(
    data: DecisionDataset, rows: np.ndarray, model: Model, *, fold: int = 0
) -> pd.DataFrame:
    """Return ``model``'s predictions of ``rows`` as resolved ledger rows (plus ``fold``)."""
    tf = data.target_timeframe
    n = len(rows)
    pred = np.empty((n, 5), dtype=np.float64)
    probs = np.empty((n, 3), dtype=np.float64)
    for a in range(0, n, PREDICT_BATCH):
        part = rows[a : a + PREDICT_BATCH]
        inputs, scales = data.inputs(part)
        out = model.predict(inputs)
        pred[a : a + len(part)] = to_prices(out.candles[tf], scales[tf])
        probs[a : a + len(part)] = out.action_probs
    actual = data.targets(rows)
    actions = np.argmax(probs, axis=1)
    decision = data.decision_time[rows]
    frame = pd.DataFrame(
        {
            "fold": np.full(n, fold, dtype=np.int64),
            "model": model.name,
            "model_version": model.version,
            "symbol": data.symbol,
            "timeframe": tf,
            "decision_time": decision,
            "target_open_time": decision,
            "status": "resolved",
            "ref_close": data.ref_close(rows),
            **{f"pred_{f}": pred[:, i] for i, f in enumerate(FIELDS)},
            **{f"actual_{f}": actual[:, i] for i, f in enumerate(FIELDS)},
            "action": _NAMES[actions],
            "p_hold": probs[:, 0],
            "p_buy": probs[:, 1],
            "p_sell": probs[:, 2],
            "action_correct": actions == data.labels[rows],
            "confidence": probs.max(axis=1),
        }
    )
    return frame

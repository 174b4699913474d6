"""Honest evaluation of resolved predictions, every model beside the baselines.

Per model and timeframe: mean absolute error of the predicted close, high and low against the
actual candle (in price units); the skill ratio ``MAE_close(model) / MAE_close(persistence)``
on the very same targets (below 1 beats persistence); directional accuracy (sign of the
predicted vs the actual close-to-close move, on candles where both moved) with a 95% Wilson
interval; action accuracy (against the price-move label); and calibration: action accuracy per
confidence bucket.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

PERSISTENCE = "persistence"
#: The ledger columns the evaluation reads.
COLUMNS: tuple[str, ...] = (
    "model",
    "symbol",
    "timeframe",
    "target_open_time",
    "status",
    "ref_close",
    "pred_close",
    "pred_high",
    "pred_low",
    "actual_close",
    "actual_high",
    "actual_low",
    "action",
    "action_correct",
    "confidence",
)
_BUCKETS = (0.0, 0.4, 0.5, 0.6, 0.8, 1.0000001)


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """Return the 95% Wilson score interval of a proportion, or None when ``n`` is 0.

    >>> lo, hi = wilson_interval(60, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.502, 0.691)
    """
    if n == 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _mae(pred: pd.Series, actual: pd.Series) -> float | None:
    if len(pred) == 0:
        return None
    return float(np.mean(np.abs(pred.to_numpy(float) - actual.to_numpy(float))))


def _one(g: pd.DataFrame, persistence: pd.DataFrame | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "n": len(g),
        "mae_close": _mae(g["pred_close"], g["actual_close"]),
        "mae_high": _mae(g["pred_high"], g["actual_high"]),
        "mae_low": _mae(g["pred_low"], g["actual_low"]),
    }
    if persistence is not None and len(g):
        keys = ["symbol", "target_open_time"]
        both = g.merge(persistence[[*keys, "pred_close"]], on=keys, suffixes=("", "_p"))
        m, p = (
            _mae(both["pred_close"], both["actual_close"]),
            _mae(both["pred_close_p"], both["actual_close"]),
        )
        out["persistence_mae_close"] = p
        out["skill_ratio"] = None if not m or not p else m / p
        out["skill_n"] = len(both)
    pred_move = np.sign(g["pred_close"].to_numpy(float) - g["ref_close"].to_numpy(float))
    real_move = np.sign(g["actual_close"].to_numpy(float) - g["ref_close"].to_numpy(float))
    moved = (pred_move != 0) & (real_move != 0)
    hits, n_dir = int(np.sum(pred_move[moved] == real_move[moved])), int(np.sum(moved))
    ci = wilson_interval(hits, n_dir)
    out["directional"] = {
        "n": n_dir,
        "accuracy": hits / n_dir if n_dir else None,
        "ci95": None if ci is None else [ci[0], ci[1]],
    }
    correct = g["action_correct"].astype(bool).to_numpy()
    out["action_accuracy"] = float(correct.mean()) if len(g) else None
    out["actions"] = {str(k): int(v) for k, v in g["action"].value_counts().sort_index().items()}
    conf = g["confidence"].to_numpy(float)
    buckets = []
    for lo, hi in itertools.pairwise(_BUCKETS):
        sel = (conf >= lo) & (conf < hi)
        n = int(sel.sum())
        if n:
            buckets.append(
                {
                    "confidence": [lo, min(hi, 1.0)],
                    "n": n,
                    "mean_confidence": float(conf[sel].mean()),
                    "accuracy": float(correct[sel].mean()),
                }
            )
    out["calibration"] = buckets
    return out


def evaluate(resolved: pd.DataFrame) -> dict[str, dict[str, dict[str, Any]]]:
    """Return ``{model: {timeframe: figures}}`` for resolved predictions (see module doc)."""
    if resolved.empty:
        return {}
    df = resolved[resolved["status"] == "resolved"]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (tf,), by_tf in df.groupby(["timeframe"], sort=True):
        persistence = by_tf[by_tf["model"] == PERSISTENCE]
        base = persistence if len(persistence) else None
        for (model,), g in by_tf.groupby(["model"], sort=True):
            out.setdefault(str(model), {})[str(tf)] = _one(g, base)
    return out

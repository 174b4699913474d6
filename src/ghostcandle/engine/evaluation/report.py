"""Honest evaluation of resolved predictions, every model beside the session's baselines.

``evaluate`` returns ``{model: {timeframe: figures}}``. The figures of one model and timeframe:

- ``n`` and ``status`` (``"too_few"`` below ``MIN_SAMPLE`` = 30 targets: point figures are
  still given, intervals and p-values are not, in every block with fewer targets either);
- ``mae_open`` .. ``mae_volume``: mean absolute error of each predicted field, in price (volume)
  units, over the model's own targets;
- ``skill``: per field, ``vs_persistence`` and ``vs_strongest`` (the session baseline with the
  lowest MAE on that field, named), each ``MAE(model) / MAE(baseline)`` on the targets both
  predicted with a Diebold–Mariano test (``metrics``, ``significance``);
- ``skill_ratio`` / ``persistence_mae_close`` / ``skill_n``: the close skill against
  persistence, as before;
- ``directional``: accuracy of the predicted move's sign, Wilson interval, binomial p-value;
- ``action_accuracy``, ``actions`` (counts), ``action`` (accuracy beside the in-sample
  majority and always-HOLD, Brier score, ECE), ``calibration`` (accuracy per confidence
  bucket; ``calibration``);
- ``coverage``: how often the actual high/low stayed inside the predicted ones;
- ``trading``: per symbol, the actions through the broker net of costs, against flat and
  buy-and-hold (``trading_value``).

Baselines are the session's models that never learn (``models.registry.baseline_names()``).
No figure is NaN: what cannot be computed is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD
from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.engine.evaluation.calibration import action_figures, confidence_buckets
from ghostcandle.engine.evaluation.metrics import (
    FIELDS,
    TargetGrid,
    absolute_errors,
    coverage,
    directional,
    skills,
    target_grid,
)
from ghostcandle.engine.evaluation.rows import rows_at
from ghostcandle.engine.evaluation.significance import MIN_SAMPLE, status_of, wilson_interval
from ghostcandle.engine.evaluation.trading_value import (
    BenchmarkCache,
    check_config,
    trading_value,
)
from ghostcandle.models.registry import baseline_names

__all__ = ["COLUMNS", "MIN_SAMPLE", "PERSISTENCE", "evaluate", "json_safe", "wilson_interval"]

PERSISTENCE = "persistence"
#: The ledger columns the evaluation reads.
COLUMNS: tuple[str, ...] = (
    "model",
    "symbol",
    "timeframe",
    "decision_time",
    "target_open_time",
    "status",
    "ref_close",
    *(f"pred_{f}" for f in FIELDS),
    *(f"actual_{f}" for f in FIELDS),
    "action",
    "p_hold",
    "p_buy",
    "p_sell",
    "action_correct",
    "confidence",
)


def json_safe(value: Any) -> Any:
    """Return ``value`` with numpy scalars made plain and non-finite floats made ``None``."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _one(
    g: pd.DataFrame, grid: TargetGrid, baselines: list[str], threshold: float
) -> dict[str, Any]:
    model = str(g["model"].iloc[0])
    n = len(g)
    mae = absolute_errors(g).mean(axis=0) if n else [None] * len(FIELDS)
    persistence = PERSISTENCE if PERSISTENCE in grid.errors else None
    skill = skills(grid, model, baselines, persistence)
    out: dict[str, Any] = {
        "n": n,
        "status": status_of(n),
        **{f"mae_{f}": mae[i] for i, f in enumerate(FIELDS)},
    }
    close = skill["close"]["vs_persistence"]
    if close is not None:
        m, p = close["mae_model"], close["mae_baseline"]
        out["persistence_mae_close"] = p
        out["skill_ratio"] = None if not m or not p else m / p
        out["skill_n"] = close["n"]
    conf = g["confidence"].to_numpy(np.float64)
    correct = g["action_correct"].astype(bool).to_numpy()
    out.update(
        baselines=baselines,
        skill=skill,
        directional=directional(g),
        action_accuracy=float(correct.mean()) if n else None,
        actions={str(k): int(v) for k, v in g["action"].value_counts().sort_index().items()},
        action=action_figures(g, threshold),
        calibration=confidence_buckets(conf, correct),
        coverage=coverage(g),
        trading=None,  # once every model's grid figures are made (``evaluate``)
    )
    return out


def evaluate(
    resolved: pd.DataFrame,
    *,
    threshold: float = DEFAULT_MOVE_THRESHOLD,
    broker: BrokerConfig | None = None,
    baselines: Iterable[str] | None = None,
    trading: bool = True,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Return ``{model: {timeframe: figures}}`` for resolved predictions (see module doc).

    ``threshold`` is the session's move threshold (the action labels); ``broker`` the trading
    costs (default: the broker's own); ``baselines`` the families that count as baselines
    (default: every registered family that never learns, in the registry's order, which breaks
    ties for the strongest). ``trading=False`` leaves the trading value out (``None``): the
    broker steps through every candle in Python, the rest is vectorised.
    """
    if resolved.empty:
        return {}
    settled = resolved["status"] == "resolved"
    df = resolved if settled.all() else resolved[settled]
    config = check_config(broker or BrokerConfig())
    known = list(baseline_names() if baselines is None else baselines)
    cache: BenchmarkCache | None = {} if trading else None
    by_tf: dict[str, dict[str, pd.DataFrame]] = {}
    # at most one copy per group (not one per timeframe, then one per model); none of a group
    # whose rows are one run, as a session of one model and timeframe is
    indices: dict[Any, Any] = df.groupby(["timeframe", "model"]).indices
    for key in sorted(indices):
        tf, model = key
        by_tf.setdefault(str(tf), {})[str(model)] = rows_at(df, indices[key])
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for tf, groups in by_tf.items():
        grid = target_grid(groups)
        present = [m for m in known if m in groups]
        figures = {model: _one(g, grid, present, threshold) for model, g in groups.items()}
        del grid  # every target's errors (a long replay's: ~50MB): not needed to trade
        for model, g in groups.items():
            if cache is not None:
                figures[model]["trading"] = trading_value(g, tf, config, cache)
            out.setdefault(model, {})[tf] = json_safe(figures[model])
    return dict(sorted(out.items()))

"""Figures of predicted candles: MAE, skill against baselines (with a DM test), direction, range.

All of one timeframe's predictions are laid on one grid of targets ``(target time, symbol)``,
sorted by time then symbol, one row of absolute errors per model and field (NaN where a model
did not predict that target). A skill compares two models on the targets both predicted:
``MAE(model) / MAE(baseline)`` (below 1 beats the baseline), with the Diebold–Mariano test of
``significance.diebold_mariano``. The *strongest* baseline of a field is the session baseline
with the lowest MAE on that field over the targets it shares with the model (ties: the first
in the order given, the registry's: persistence first); a baseline may be its own strongest
(skill 1, nothing to test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.engine.evaluation.significance import (
    OK,
    binomial_two_sided_p,
    diebold_mariano,
    status_of,
    wilson_interval,
)

#: The predicted fields scored, in ledger order.
FIELDS: tuple[str, ...] = VALUE_COLUMNS


@dataclass(frozen=True)
class TargetGrid:
    """One timeframe's targets and every model's absolute errors on them.

    ``period[j]`` is the position of target ``j``'s time among the grid's distinct times;
    ``errors[model]`` is a ``(len(FIELDS), targets)`` array, NaN where the model is absent.
    """

    period: np.ndarray
    errors: dict[str, np.ndarray]


def absolute_errors(df: pd.DataFrame) -> np.ndarray:
    """Return ``|pred - actual|`` of every row and field, shape ``(rows, len(FIELDS))``."""
    out: np.ndarray = df[[f"pred_{f}" for f in FIELDS]].to_numpy(np.float64, copy=True)
    out -= df[[f"actual_{f}" for f in FIELDS]].to_numpy(np.float64)
    np.abs(out, out=out)  # in place: a million rows' errors are 40MB an array
    return out


def target_grid(groups: Mapping[str, pd.DataFrame]) -> TargetGrid:
    """Lay one timeframe's resolved predictions, ``{model: rows}``, on their grid of targets."""
    symbols = sorted({str(s) for g in groups.values() for s in g["symbol"].unique()})
    codes = {m: pd.Categorical(g["symbol"], categories=symbols).codes for m, g in groups.items()}
    times = {m: g["target_open_time"].to_numpy(np.int64) for m, g in groups.items()}
    n_sym = max(len(symbols), 1)
    # one int per target, ordered by time then symbol
    keyed = {m: times[m] * n_sym + codes[m].astype(np.int64) for m in groups}
    keys = np.unique(np.concatenate([*keyed.values(), np.empty(0, np.int64)]))
    _, period = np.unique(keys // n_sym, return_inverse=True)
    grid: dict[str, np.ndarray] = {}
    for model, g in groups.items():
        e = np.full((len(FIELDS), len(keys)), np.nan)
        at = np.searchsorted(keys, keyed[model])
        for i, f in enumerate(FIELDS):  # a field at a time: no copy of all the errors
            pred, actual = (
                g[f"pred_{f}"].to_numpy(np.float64),
                g[f"actual_{f}"].to_numpy(np.float64),
            )
            e[i, at] = np.abs(pred - actual)
        grid[model] = e
    return TargetGrid(period=period.astype(np.int64), errors=grid)


def mean_or_none(values: np.ndarray) -> float | None:
    """Return the mean of ``values``, None when empty."""
    return float(np.mean(values)) if len(values) else None


def compare(grid: TargetGrid, model: str, baseline: str, field: int) -> dict[str, Any]:
    """Return the skill of ``model`` against ``baseline`` on one field, with its DM test."""
    a, b = grid.errors[model][field], grid.errors[baseline][field]
    both = ~(np.isnan(a) | np.isnan(b))
    if both.all():  # every target shared (a replay's models): the rows as they are, no copies
        am, bm, period = a, b, grid.period
    else:
        am, bm, period = a[both], b[both], grid.period[both]
    del both
    n = len(am)
    mae_m, mae_b = mean_or_none(am), mean_or_none(bm)
    dm = diebold_mariano(am, bm, period)
    return {
        "baseline": baseline,
        "n": n,
        "status": status_of(n),
        "mae_model": mae_m,
        "mae_baseline": mae_b,
        "skill": None if mae_m is None or not mae_b else mae_m / mae_b,
        "dm": {k: dm[k] for k in ("statistic", "p_value", "lag", "mean_loss_diff", "note")},
    }


def strongest_baseline(
    grid: TargetGrid, model: str, baselines: Sequence[str], field: int
) -> str | None:
    """Return the baseline with the lowest MAE on ``field`` over the targets ``model`` shares.

    Baselines sharing no target with the model are passed over; ties go to the first given.
    """
    best: tuple[float, str] | None = None
    a = grid.errors[model][field]
    for name in baselines:
        b = grid.errors[name][field]
        shared = ~(np.isnan(a) | np.isnan(b))
        if not shared.all():
            b = b[shared]
        if len(b) == 0:
            continue
        mae = float(np.mean(b))
        if best is None or mae < best[0]:
            best = (mae, name)
    return None if best is None else best[1]


def skills(
    grid: TargetGrid, model: str, baselines: Sequence[str], persistence: str | None
) -> dict[str, dict[str, Any]]:
    """Return per field the skill against persistence and against the strongest baseline."""
    out: dict[str, dict[str, Any]] = {}
    for i, field in enumerate(FIELDS):
        best = strongest_baseline(grid, model, baselines, i)
        out[field] = {
            "vs_persistence": None if persistence is None else compare(grid, model, persistence, i),
            "vs_strongest": None if best is None else compare(grid, model, best, i),
        }
    return out


def coverage(g: pd.DataFrame) -> dict[str, Any]:
    """Return how often the predicted range held the actual one (``coverage_of``)."""
    high, low = range_held(
        *(g[c].to_numpy(np.float64) for c in ("pred_high", "pred_low", "actual_high", "actual_low"))
    )
    return coverage_of(len(g), int(high.sum()), int(low.sum()), int((high & low).sum()))


def range_held(
    pred_high: np.ndarray, pred_low: np.ndarray, actual_high: np.ndarray, actual_low: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return, per target, whether the actual high and the actual low stayed in range."""
    return actual_high <= pred_high, actual_low >= pred_low


def coverage_of(n: int, high: int, low: int, both: int) -> dict[str, Any]:
    """Return the coverage figures of ``n`` targets, ``high``/``low``/``both`` of them held.

    ``high``: share of actual highs at or below the predicted high; ``low``: of actual lows at
    or above the predicted low; ``both``: the whole actual range inside the predicted one.
    """
    return {
        "n": n,
        "status": status_of(n),
        "high": high / n if n else None,
        "low": low / n if n else None,
        "both": both / n if n else None,
    }


def move_hits(ref: np.ndarray, pred: np.ndarray, actual: np.ndarray) -> tuple[int, int]:
    """Return how many predicted close moves had the actual one's sign, of those both moved."""
    pred_move, real_move = np.sign(pred - ref), np.sign(actual - ref)
    moved = (pred_move != 0) & (real_move != 0)
    return int(np.sum(pred_move[moved] == real_move[moved])), int(np.sum(moved))


def directional(g: pd.DataFrame) -> dict[str, Any]:
    """Return the directional accuracy of the predicted close (``directional_of``)."""
    cols = ("ref_close", "pred_close", "actual_close")
    return directional_of(*move_hits(*(g[c].to_numpy(np.float64) for c in cols)))


def directional_of(hits: int, n: int) -> dict[str, Any]:
    """Return the directional accuracy of ``hits`` in ``n``, with its interval and test.

    A hit is the predicted close-to-close move (from ``ref_close``) having the sign of the
    actual one, over the targets where both moved; the 95% Wilson interval and the exact
    two-sided binomial p-value against a coin (0.5) are given from ``MIN_SAMPLE`` targets on.
    """
    status = status_of(n)
    ci = wilson_interval(hits, n) if status == OK else None
    return {
        "n": n,
        "status": status,
        "accuracy": hits / n if n else None,
        "ci95": None if ci is None else [ci[0], ci[1]],
        "p_value": binomial_two_sided_p(hits, n) if status == OK else None,
    }

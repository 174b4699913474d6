"""``report.evaluate`` of a stored session, one timeframe and one model at a time, from arrays.

A 1M-candle replay's finest timeframe is a million ledger rows: as one frame (``evaluate``'s
input) ~200MB, grouped per model, laid on a grid of every model's five errors, and traded
through brokers keeping every equity point, its summary grew the process by ~575MB. Here the
rows are read from the ledger a few columns at a time (``store.ledger_columns``) and every
figure is made with the same float operations on the same values in the same order as
``evaluate`` makes it (``test_stored_evaluation`` compares the two on a replay's ledger):

- MAE: the mean of a column of errors, as ``mean(axis=0)`` of a frame's errors is;
- skill: the grid of target keys once, then one field's errors of every model at a time;
- direction, coverage, actions: counts a range of rows at a time; Brier terms, confidences
  and hits kept whole (the means and ECE take them whole);
- trading: each series' candles made a range at a time (``trading_value.follow_rows``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ghostcandle.domain.actions import ACTIONS, actions_from_moves
from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.candles import Candle
from ghostcandle.engine.evaluation.calibration import (
    PROBABILITY_COLUMNS,
    action_figures_of,
    brier_terms,
    confidence_buckets,
)
from ghostcandle.engine.evaluation.metrics import (
    FIELDS,
    TargetGrid,
    compare,
    coverage_of,
    directional_of,
    move_hits,
    range_held,
    strongest_baseline,
)
from ghostcandle.engine.evaluation.report import PERSISTENCE, json_safe
from ghostcandle.engine.evaluation.significance import status_of
from ghostcandle.engine.evaluation.trading_value import (
    CANDLE_COLUMNS,
    BenchmarkCache,
    benchmark,
    follow_rows,
    series_key,
)
from ghostcandle.models.registry import baseline_names
from ghostcandle.store.db import Database
from ghostcandle.store.ledger_columns import GroupColumns, resolved_names, snapshot

#: rows of a series made Python numbers (then candles) at once
_LIST_ROWS = 4096
#: the columns of the figures made a range of rows at a time
_ROW_COLUMNS = (
    "ref_close",
    "pred_close",
    "actual_close",
    "pred_high",
    "pred_low",
    "actual_high",
    "actual_low",
    "action_code",
    "action_correct",
    "confidence",
    *PROBABILITY_COLUMNS,
)


def evaluate_timeframe(
    db: Database, session_id: str, timeframe: str, threshold: float
) -> dict[str, dict[str, Any]]:
    """Return ``{model: figures}`` of one timeframe, as ``evaluate``'s ``[model][timeframe]``.

    Read in one snapshot of the ledger (a live session may write meanwhile).
    """
    with snapshot(db) as con:
        models, symbols, actions = resolved_names(db, con, session_id, timeframe)
        groups = {
            m: GroupColumns(db, con, session_id, timeframe, m, symbols, actions) for m in models
        }
        present = [m for m in baseline_names() if m in groups]
        figures = {m: _rows(g, actions, threshold) for m, g in groups.items()}
        _skills(groups, symbols, present, figures)
        config, cache = BrokerConfig(), BenchmarkCache()
        out = {}
        for model, g in groups.items():
            figures[model]["trading"] = _trading(g, timeframe, symbols, actions, config, cache)
            out[model] = json_safe({k: figures[model][k] for k in _KEYS if k in figures[model]})
    return out


def _rows(g: GroupColumns, actions: list[str], threshold: float) -> dict[str, Any]:
    """Return the figures counted over the rows (all but MAE, skill and trading)."""
    hits = moved = high_n = low_n = both_n = 0
    act = np.zeros(len(actions), np.int64)
    labels = np.zeros(len(ACTIONS), np.int64)
    n = g.n
    # kept whole (the means and ECE take them whole), each filled a range at a time
    brier, confidence, right = np.empty(n), np.empty(n), np.empty(n, bool)
    at = 0
    for c in g.chunks(_ROW_COLUMNS):
        h, m = move_hits(c["ref_close"], c["pred_close"], c["actual_close"])
        hits, moved = hits + h, moved + m
        high, low = range_held(c["pred_high"], c["pred_low"], c["actual_high"], c["actual_low"])
        high_n, low_n = high_n + int(high.sum()), low_n + int(low.sum())
        both_n += int((high & low).sum())
        act += np.bincount(c["action_code"], minlength=len(actions))
        lab = actions_from_moves(c["ref_close"], c["actual_close"], threshold)
        labels += np.bincount(lab, minlength=len(ACTIONS))
        probs = np.stack([c[p].astype(np.float64) for p in PROBABILITY_COLUMNS], axis=1)
        k = len(lab)
        brier[at : at + k] = brier_terms(probs, lab)
        confidence[at : at + k] = c["confidence"]
        right[at : at + k] = c["action_correct"]
        at += k
        del c, probs, lab  # not kept beside the whole columns' figures below
    return {
        "n": n,
        "status": status_of(n),
        "directional": directional_of(hits, moved),
        "action_accuracy": float(right.mean()) if n else None,
        "actions": {a: int(k) for a, k in zip(actions, act, strict=True) if k},
        "action": action_figures_of(right, labels, brier, confidence),
        "calibration": confidence_buckets(confidence, right),
        "coverage": coverage_of(n, high_n, low_n, both_n),
    }


def _skills(
    groups: dict[str, GroupColumns],
    symbols: list[str],
    present: list[str],
    figures: dict[str, dict[str, Any]],
) -> None:
    """Add MAE and skill to ``figures``: ``metrics.target_grid`` one field at a time."""
    keys, at = _target_keys(groups, max(len(symbols), 1))
    period = _periods(keys // max(len(symbols), 1))
    targets = len(keys)
    del keys  # the positions (``at``) are in it
    persistence = PERSISTENCE if PERSISTENCE in groups else None
    skill: dict[str, dict[str, Any]] = {m: {} for m in groups}
    for field in FIELDS:
        errors = {}
        for model, g in groups.items():
            # one column at a time, the errors made in the first (read for this: ours)
            e = g.read((f"pred_{field}",))[f"pred_{field}"].astype(np.float64, copy=False)
            np.subtract(e, g.read((f"actual_{field}",))[f"actual_{field}"], out=e)
            np.abs(e, out=e)
            # a frame's columns lie apart: mean(axis=0) of its errors is each column's mean
            figures[model][f"mae_{field}"] = np.mean(e)
            where = at[model]
            if where is None:  # the model's targets are the grid's, in its order
                errors[model] = e.reshape(1, -1)
            else:
                errors[model] = np.full((1, targets), np.nan)
                errors[model][0, where] = e
            del e
        grid = TargetGrid(period=period, errors=errors)
        for model in groups:
            best = strongest_baseline(grid, model, present, 0)
            skill[model][field] = {
                "vs_persistence": None
                if persistence is None
                else compare(grid, model, persistence, 0),
                "vs_strongest": None if best is None else compare(grid, model, best, 0),
            }
        del grid, errors
    for model in groups:
        out = figures[model]
        close = skill[model]["close"]["vs_persistence"]
        if close is not None:
            m, p = close["mae_model"], close["mae_baseline"]
            out["persistence_mae_close"] = p
            out["skill_ratio"] = None if not m or not p else m / p
            out["skill_n"] = close["n"]
        out["baselines"] = present
        out["skill"] = skill[model]


def _target_keys(
    groups: dict[str, GroupColumns], n_sym: int
) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
    """Return the grid's sorted target keys and each model's positions in it.

    A key is ``target time * n_sym + symbol code`` (``metrics.target_grid``'s). A model whose
    keys are the grid's, in order (every model predicted every target once: a replay's), has
    no positions (None): its errors are the grid's row as they are.
    """
    found: dict[str, np.ndarray] = {}
    for model, g in groups.items():
        k = g.read(("target_open_time", "symbol_code"))
        key = k.pop("target_open_time").astype(np.int64, copy=False)  # read for this: ours
        key *= n_sym
        key += k.pop("symbol_code")
        found[model] = key
    first = next(iter(found.values()), None)
    if (
        first is not None
        and bool(np.all(first[1:] > first[:-1]))
        and all(np.array_equal(v, first) for v in found.values())
    ):
        return first, dict.fromkeys(found)
    keys = np.unique(np.concatenate([*found.values(), np.empty(0, np.int64)]))
    return keys, {m: np.searchsorted(keys, v) for m, v in found.items()}


def _periods(times: np.ndarray) -> np.ndarray:
    """Return each of the sorted ``times``' position among their distinct values.

    As ``np.unique(times, return_inverse=True)[1]`` is (``target_grid``'s), without a sort.
    """
    out = np.zeros(len(times), np.int64)
    np.cumsum(times[1:] != times[:-1], out=out[1:])
    return out


#: the order of ``report``'s figures
_KEYS = (
    "n", "status", *(f"mae_{f}" for f in FIELDS), "persistence_mae_close", "skill_ratio",
    "skill_n", "baselines", "skill", "directional", "action_accuracy", "actions", "action",
    "calibration", "coverage", "trading",
)  # fmt: skip


def _series(g: GroupColumns, symbol: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the positions of a series' traded rows, as ``trading_value`` picks them, and
    their target times.

    Sorted (stably) by target time, the last row of each target time.
    """
    k = g.read(("target_open_time", "symbol_code"))
    codes = k.pop("symbol_code")
    t = k.pop("target_open_time").astype(np.int64, copy=False)
    mine = codes == symbol
    del codes
    if bool(mine.all()):  # one symbol: every row
        pos = np.arange(len(t))
    else:
        pos = np.flatnonzero(mine)
        t = t[pos]
    del mine
    if len(t) > 1 and not bool(np.all(t[1:] >= t[:-1])):
        ordered = np.argsort(t, kind="stable")
        pos, t = pos[ordered], t[ordered]
    last = np.ones(len(t), bool)
    last[:-1] = t[1:] != t[:-1]
    if bool(last.all()):
        return pos, t
    return pos[last], t[last]


def _traded(
    g: GroupColumns, pos: np.ndarray, symbol: str, timeframe: str, actions: list[str]
) -> Iterator[tuple[Candle, tuple[Any, ...]]]:
    """Yield the series' candles and decisions at ``pos``, a range of rows at a time."""
    columns = (*CANDLE_COLUMNS, "decision_time", "action_code", "confidence")
    if g.in_ranges and bool(np.all(pos[1:] > pos[:-1])):
        wanted = np.zeros(g.n, bool)
        wanted[pos] = True
        chunks = g.chunks(columns)
    else:  # rows out of the ranges' order: the series' columns whole
        whole = g.read(columns)
        chunks = iter([{c: v[pos] for c, v in whole.items()}])
        wanted = np.ones(len(pos), bool)
        del whole
    lo = 0
    for c in chunks:
        take = wanted[lo : lo + len(c["target_open_time"])]
        lo += len(take)
        picked = [c[name][take] for name in columns]
        del c
        # as Python numbers a few thousand rows at a time (a range's are ~30 bytes a value)
        for a in range(0, len(picked[0]), _LIST_ROWS):
            t, o, h, low, close, v, at, code, conf = (
                p[a : a + _LIST_ROWS].tolist() for p in picked
            )
            for i in range(len(t)):
                candle = Candle(symbol, timeframe, int(t[i]), o[i], h[i], low[i], close[i], v[i])
                yield candle, (at[i], actions[code[i]], conf[i])


def _trading(
    g: GroupColumns,
    timeframe: str,
    symbols: list[str],
    actions: list[str],
    config: BrokerConfig,
    cache: BenchmarkCache,
) -> dict[str, dict[str, Any]]:
    """Return ``trading_value`` of one model's rows: per symbol, its actions through the broker."""
    out: dict[str, dict[str, Any]] = {}
    k = g.read(("symbol_code",))["symbol_code"]
    present = sorted({symbols[int(c)] for c in np.unique(k)})
    del k
    for symbol in present:
        pos, times = _series(g, symbols.index(symbol))
        key = (symbol, timeframe, series_key(times))
        ends = (int(times[0]), int(times[-1])) if len(times) else None
        del times

        def candles(pos: np.ndarray = pos, symbol: str = symbol) -> Iterator[Candle]:
            return (c for c, _ in _traded(g, pos, symbol, timeframe, actions))

        bench = benchmark(key, candles, config, cache)
        rows = _traded(g, pos, symbol, timeframe, actions)
        out[symbol] = follow_rows(rows, len(pos), ends, bench, timeframe, config)
    return out

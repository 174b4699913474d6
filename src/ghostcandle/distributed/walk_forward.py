"""Walk-forwards on Ray: one task per (symbol, fold), merged into the database in one go.

Every symbol's request is checked and its folds fixed on the database opened read-only, exactly
as a sequential run does; its candles are exported to a Parquet snapshot; each task re-plans its
symbol from the snapshot (the same candles give the same folds), runs its one fold and returns
it. The folds of a symbol are then pooled in fold order into the same aggregate, and the records
of every symbol are written in one transaction, only once every task has succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ghostcandle.distributed.cluster import ray_cluster
from ghostcandle.distributed.snapshot import export_candles, open_snapshot, snapshot_folder
from ghostcandle.distributed.tasks import Task, run_tasks
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.engine.offline.dataset import DecisionDataset
from ghostcandle.engine.offline.service import (
    OfflineRequest,
    OfflineTrainingService,
    fold_baselines,
)
from ghostcandle.engine.offline.walk_forward import (
    FoldResult,
    PlannedFold,
    WalkForwardResult,
    WalkForwardSpec,
    combine_folds,
    run_fold,
)
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database
from ghostcandle.store.offline_runs import OfflineRunRecord

Planned = tuple[DecisionDataset, list[PlannedFold]]


@dataclass(frozen=True)
class SymbolWalkForward:
    """One symbol's walk-forward and its stored record."""

    symbol: str
    result: WalkForwardResult
    record: OfflineRunRecord

    def to_json(self) -> dict[str, Any]:
        """Return the symbol's walk-forward as plain JSON values."""
        return {"symbol": self.symbol, "run_id": self.record.run_id, **self.result.to_json()}


#: a worker's last planned symbols: tasks of one symbol's folds follow one another, and
#: loading the candles and fixing the folds once per symbol is most of a small task's cost
_PLANNED: dict[tuple[str, str], tuple[OfflineRequest, WalkForwardSpec, Planned]] = {}
_KEEP = 4


def _planned(snapshot: str, req: OfflineRequest, spec: WalkForwardSpec) -> Planned:
    key = (snapshot, normalise_symbol(req.symbol))
    hit = _PLANNED.get(key)
    if hit is not None and hit[0] == req and hit[1] == spec:
        return hit[2]
    with open_snapshot(Path(snapshot), key[1]) as db:
        planned = OfflineTrainingService(db, LiveClock()).plan_walk_forward(req, spec)
    if len(_PLANNED) >= _KEEP:
        _PLANNED.pop(next(iter(_PLANNED)))
    _PLANNED[key] = (req, spec, planned)
    return planned


def fold_task(snapshot: str, req: OfflineRequest, spec: WalkForwardSpec, fold: int) -> FoldResult:
    """Run fold ``fold`` of ``req``'s walk-forward on the snapshot's candles (on a worker)."""
    data, folds = _planned(snapshot, req, spec)
    planned = next(p for p in folds if p.fold.index == fold)
    settings = req.model_settings()
    return run_fold(
        data,
        planned,
        lambda: create_model(req.model, **settings),
        partial(fold_baselines, data),
        req.settings,
        clock=LiveClock(),
    )


def walk_forward_on_ray(
    db_path: Path,
    requests: Sequence[OfflineRequest],
    spec: WalkForwardSpec,
    address: str | None,
    *,
    on_fold: Callable[[str], None] | None = None,
) -> list[SymbolWalkForward]:
    """Run the walk-forward of every request on Ray; record them all in one transaction.

    ``address`` is ``None`` (a local Ray), ``auto`` or a cluster's ``HOST:PORT``;
    ``on_fold(label)`` follows each finished task.
    """
    with snapshot_folder(db_path) as folder:
        with Database(db_path, read_only=True) as db:
            svc = OfflineTrainingService(db, LiveClock())
            plans = [svc.plan_walk_forward(req, spec) for req in requests]
            symbols = [normalise_symbol(r.symbol) for r in requests]
            snapshot = str(export_candles(db, symbols, folder))
        tasks = [
            Task(f"{sym} fold {p.fold.index}", fold_task, (snapshot, req, spec, p.fold.index))
            for sym, req, (_, folds) in zip(symbols, requests, plans, strict=True)
            for p in folds
        ]
        t0 = time.perf_counter()
        with ray_cluster(address):
            done = run_tasks(tasks, on_done=None if on_fold is None else lambda t: on_fold(t.label))
        duration = time.perf_counter() - t0
    results, at = [], 0
    for (data, folds), sym in zip(plans, symbols, strict=True):
        own = done[at : at + len(folds)]
        at += len(folds)
        results.append((sym, combine_folds(spec, own, data.threshold, duration)))
    with Database(db_path) as db:
        svc = OfflineTrainingService(db, LiveClock())
        out = [
            SymbolWalkForward(sym, r, svc.walk_forward_record(req, r))
            for (sym, r), req in zip(results, requests, strict=True)
        ]
        with db.transaction() as con:
            for one in out:
                svc.runs.save_in(con, one.record)
    return out

"""Backtests on Ray: one task per (symbol, range), each on its symbol's snapshot candles.

A backtest's position carries from candle to candle, so a symbol's range is one task; symbols
run side by side. Every request is checked on the database opened read-only before any task
starts, and a backtest writes nothing: the results come back to the caller, all of them or, if
one task raises, none (the run fails with that task's error and its symbol). Only the batched
engine (no training, fresh weights) runs on Ray: the loop writes sessions and checkpoints beside
the database, which a worker does not open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ghostcandle.distributed.cluster import ray_cluster
from ghostcandle.distributed.snapshot import export_candles, open_snapshot, snapshot_folder
from ghostcandle.distributed.tasks import Task, run_tasks
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.performance import BacktestResult
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestService
from ghostcandle.store.db import Database


def backtest_task(snapshot: str, req: BacktestRequest) -> BacktestResult:
    """Run one symbol's backtest on the snapshot's candles (on a worker)."""
    with open_snapshot(Path(snapshot), req.symbol) as db:
        return BacktestService(db).run(req)


def check_on_ray(req: BacktestRequest) -> None:
    """Refuse what a worker cannot run: training, the candle-by-candle loop, a checkpoint."""
    if req.train != TrainingMode.NONE or not req.batched:
        raise UserInputError(
            "--ray runs batched backtests without training: drop --train/--candle-by-candle "
            "(the loop writes its session beside the database)"
        )
    if req.start_from != "fresh":
        raise UserInputError(
            "--ray backtests start from fresh weights: drop --checkpoint (checkpoints are "
            "files beside the database, which workers do not read)"
        )


def backtests_on_ray(
    db_path: Path,
    requests: Sequence[BacktestRequest],
    address: str | None,
    *,
    on_done: Callable[[str], None] | None = None,
) -> list[BacktestResult]:
    """Run every request's backtest as a Ray task; return the results in request order."""
    for req in requests:
        check_on_ray(req)
    with snapshot_folder(db_path) as folder:
        with Database(db_path, read_only=True) as db:
            svc = BacktestService(db)
            for req in requests:
                svc.check(req)
            snapshot = str(export_candles(db, [r.symbol for r in requests], folder))
        tasks = [
            Task(f"{r.symbol} {r.timeframe} backtest", backtest_task, (snapshot, r))
            for r in requests
        ]
        with ray_cluster(address):
            return run_tasks(tasks, on_done=None if on_done is None else lambda t: on_done(t.label))

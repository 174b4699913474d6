"""Offline training of one model on many symbols across Ray Train workers (torch DDP, gloo).

The driver checks every symbol's request on the database opened read-only exactly as a
single-process fit does (model, timeframes, range, candles, checkpoint name), exports their
candles to a Parquet snapshot and starts a ``TorchTrainer`` of ``workers`` CPU workers
(``train_worker``). Each worker trains its shares of every global batch; DDP averages the
gradients. Once the run has succeeded, the driver writes rank 0's best weights as the named
checkpoint (``engine.offline.checkpoint.save_named``: what ``--checkpoint NAME``,
``start_from`` and ``serve``'s picker load) and, in one transaction, the offline run's record
and its training run (epochs, losses, validation curve). A worker that raises fails the run
with its error and rank; nothing is written. Beside it, ``compare`` fits the same union in
this process (``train_worker.single_process``) and scores both on the validation split
against the baselines (``validation_skill``).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import pandas as pd

from ghostcandle.distributed.cluster import ray_cluster
from ghostcandle.distributed.snapshot import export_candles, snapshot_folder
from ghostcandle.distributed.tasks import TaskFailedError
from ghostcandle.distributed.train_record import record_fit
from ghostcandle.distributed.train_worker import single_process, worker_loop
from ghostcandle.distributed.union import Part, Union, UnionFit
from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import GhostcandleError, UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import format_time
from ghostcandle.engine.evaluation.report import evaluate
from ghostcandle.engine.offline.ledger import ledger_frame
from ghostcandle.engine.offline.service import (
    OfflineRequest,
    OfflineTrainingService,
    fold_baselines,
)
from ghostcandle.engine.offline.walk_forward import Fold, PlannedFold
from ghostcandle.engine.training.checkpoints import CheckpointInfo
from ghostcandle.models.base import Model
from ghostcandle.models.registry import create_model
from ghostcandle.models.torch_model import TorchModel
from ghostcandle.store.db import Database

MAX_WORKERS = 64
#: seconds Ray Train waits for its workers to start (its default, 60, is close to what a
#: 2-core machine at a load average of ~19 took: 35-40 s); the caller's own setting wins
WORKER_START_TIMEOUT_S = "300"
_START_TIMEOUT_VAR = "RAY_TRAIN_WORKER_GROUP_START_TIMEOUT_S"


@dataclass(frozen=True)
class RayFit:
    """A finished run: the workers' fit, its checkpoint and record, and the comparison."""

    fit: UnionFit
    checkpoint: CheckpointInfo
    run_id: str
    name: str
    symbols: tuple[str, ...]
    #: ``ddp``: the workers' fit, its wall time (Ray and worker start-up included) and skill;
    #: ``single_process``: the same union fitted in this process (absent: not compared)
    summary: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Return the run and the comparison as plain JSON values."""
        return {
            "run_id": self.run_id,
            "name": self.name,
            "symbols": list(self.symbols),
            "checkpoint_path": self.checkpoint.path,
            **self.summary,
        }


def default_name(req: OfflineRequest, symbols: Sequence[str]) -> str:
    """Return ``<model>-<SYM>-<SYM>...-<from>-<to>`` (cut to the 60 characters a name takes)."""
    span = "-".join(format_time(t)[:10].replace("-", "") for t in (req.start, req.end))
    syms = "-".join(s.replace("/", "") for s in symbols)
    head = f"{req.model}-{syms}"[: 60 - len(span) - 1]
    return f"{head}-{span}"


def check_request(req: OfflineRequest, workers: int) -> None:
    """Refuse what training across workers does not do, in one line."""
    if not 1 <= workers <= MAX_WORKERS:
        raise UserInputError(f"--workers {workers} is not in 1..{MAX_WORKERS}")
    if req.settings.batch_size % workers:
        raise UserInputError(
            f"--batch-size {req.settings.batch_size} does not split into {workers} equal "
            "shares: give a multiple of --workers"
        )
    if req.settings.replay is not None:
        raise UserInputError(
            "--ray training draws every decision once per epoch: drop --replay/--max-samples"
        )


def prepare_union(db: Database, req: OfflineRequest, symbols: Sequence[str], clock: Clock) -> Union:
    """Check every symbol's request as a single-process fit checks it; return their union."""
    svc = OfflineTrainingService(db, clock)
    parts = []
    for symbol in symbols:
        p = svc.prepare(replace(req, symbol=symbol))
        if not isinstance(p.model, TorchModel):
            raise UserInputError(
                f"--model {req.model} does not train by gradient steps on labelled batches: "
                "train it without --ray"
            )
        parts.append(Part(p.data, p.split))
    return Union(tuple(parts))


def run_workers(
    snapshot: Path, folder: Path, req: OfflineRequest, symbols: Sequence[str], workers: int
) -> UnionFit:
    """Run the ``TorchTrainer`` on the connected Ray; return rank 0's fit or raise one line."""
    import ray.train
    from ray.train import FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    trainer = TorchTrainer(
        cast(Any, worker_loop),  # Ray Train 2 hands rank 0's return value back
        train_loop_config={"snapshot": str(snapshot), "request": req, "symbols": list(symbols)},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=False),
        torch_config=TorchConfig(backend="gloo"),
        run_config=RunConfig(
            name=f"train-{uuid.uuid4().hex[:8]}",
            storage_path=str(folder / "ray-train"),
            failure_config=FailureConfig(max_failures=0),
        ),
    )
    given = os.environ.get(_START_TIMEOUT_VAR)
    os.environ[_START_TIMEOUT_VAR] = given or WORKER_START_TIMEOUT_S  # passed on to the workers
    try:
        result = trainer.fit()
    except ray.train.TrainingFailedError as exc:
        raise worker_error(exc, workers) from None
    finally:
        if given is None:
            os.environ.pop(_START_TIMEOUT_VAR, None)
    fit = getattr(result, "return_value", None)
    if not isinstance(fit, UnionFit):
        raise TaskFailedError("rank 0 returned no fit: see the Ray logs")
    return fit


def worker_error(exc: BaseException, workers: int) -> GhostcandleError:
    """Return the first failed worker's error, its kind kept, prefixed with its rank."""
    failures: dict[int, BaseException] = dict(getattr(exc, "worker_failures", None) or {})
    if not failures:
        first = (str(exc).splitlines() or [""])[0]
        return TaskFailedError(f"training across workers failed: {type(exc).__name__}: {first}")
    rank = min(failures)
    cause = failures[rank]
    label = f"worker rank {rank} of {workers}"
    if isinstance(cause, GhostcandleError):
        try:
            return type(cause)(f"{label}: {cause}")
        except TypeError:
            pass
    first = (str(cause).splitlines() or [""])[0]
    return TaskFailedError(f"{label}: worker failed: {type(cause).__name__}: {first}")


def validation_skill(union: Union, model: Model, start: int) -> dict[str, Any]:
    """Score ``model`` and the baselines on every symbol's validation split (pooled).

    The baselines' constants are fitted on each symbol's candles before its split, as a
    walk-forward fold fits them on its train window; returns the close's skill against the
    strongest baseline (MAE ratio, below 1 beats it) and the action accuracy.
    """
    frames = []
    for p in union.parts:
        fold = Fold(0, start, p.split.split_time, int(p.data.target_close[p.split.val[-1]]))
        baselines = fold_baselines(p.data, PlannedFold(fold, p.split, p.split.val))
        frames += [ledger_frame(p.data, p.split.val, m) for m in (model, *baselines)]
    first = union.parts[0].data
    figures = evaluate(pd.concat(frames, ignore_index=True), threshold=first.threshold,
                       trading=False)[model.name][first.target_timeframe]  # fmt: skip
    vs = figures["skill"]["close"]["vs_strongest"] or {}
    return {
        "close_skill_vs_strongest": vs.get("skill"),
        "strongest_baseline": vs.get("baseline"),
        "action_accuracy": figures.get("action", {}).get("accuracy"),
        "n": figures.get("n"),
    }


def model_of(req: OfflineRequest, fit: UnionFit) -> Model:
    """Return a fresh model holding the fit's best state."""
    model = create_model(req.model, **req.model_settings())
    model.load_state_dict(fit.best_state)
    return model


def train_on_ray(
    db_path: Path,
    req: OfflineRequest,
    symbols: Sequence[str],
    address: str | None,
    workers: int,
    *,
    clock: Clock,
    compare: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> RayFit:
    """Train ``req``'s model on the union of ``symbols`` across ``workers`` Ray Train workers."""
    say = on_stage or (lambda _: None)
    symbols = [normalise_symbol(s) for s in symbols]
    check_request(req, workers)
    req = replace(req, name=req.name or default_name(req, symbols))
    with Database(db_path, read_only=True) as db:
        union = prepare_union(db, req, symbols, clock)
    with snapshot_folder(db_path) as folder:
        with Database(db_path, read_only=True) as db:
            snapshot = export_candles(db, symbols, folder)
        say(f"training on {workers} worker(s)")
        t0 = time.perf_counter()
        with ray_cluster(address):
            fit = run_workers(snapshot, folder, req, symbols, workers)
        wall = time.perf_counter() - t0
    model = model_of(req, fit)
    skill = validation_skill(union, model, req.start)
    single, single_wall, single_skill = None, 0.0, None
    if compare:
        say("training in one process on the same data")
        t0 = time.perf_counter()
        single = single_process(union, req, pad=workers)
        single_wall = time.perf_counter() - t0
        single_skill = validation_skill(union, model_of(req, single), req.start)
    ddp = {**fit.to_json(), "wall_s": round(wall, 3), "skill": skill}
    summary: dict[str, Any] = {"ddp": ddp}
    if single is not None:
        summary["single_process"] = {
            **single.to_json(), "wall_s": round(single_wall, 3), "skill": single_skill,
        }  # fmt: skip
    info, run_id = record_fit(db_path, req, symbols, union, model, fit, summary, clock)
    return RayFit(fit, info, run_id, req.name or "", tuple(symbols), summary)

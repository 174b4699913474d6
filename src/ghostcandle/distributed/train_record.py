"""Write a finished training across workers: the named checkpoint, then its records at once.

The checkpoint is written as a single-process fit writes it (``save_named``: whole or not at
all); then, in one transaction, the offline run's record (``offline_runs``, kind ``fit``: its
epochs' losses, its settings with the symbols and workers) and its training run
(``training_runs``, kind ``offline``: the training curve of every step's global loss, the
validation curve per epoch, convergence). The steps themselves are not recorded one by one:
a DDP step is the sum of the workers' shares, which ``train replay-step`` does not rebuild.
If the transaction fails the checkpoint is removed, so nothing names a missing run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ghostcandle.distributed.union import Union, UnionFit
from ghostcandle.domain.clock import Clock
from ghostcandle.engine.offline.checkpoint import remove_named, save_named
from ghostcandle.engine.offline.service import OfflineRequest
from ghostcandle.engine.offline.step_batches import dataset_source
from ghostcandle.engine.training.checkpoints import CheckpointInfo, checkpoint_dir_for
from ghostcandle.engine.training.run_curves import Curve, convergence, value_per_1k
from ghostcandle.engine.training.step_facts import state_hash
from ghostcandle.models.base import Model
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database
from ghostcandle.store.offline_runs import FIT, OfflineRunRecord, OfflineRunStore
from ghostcandle.store.training_runs import FINISHED, RunRow, TrainingRunStore

#: a training run's kind (as a single-process offline fit's)
KIND = "offline"


def _curve(pairs: Sequence[tuple[int, float]]) -> tuple[tuple[int, float], ...]:
    curve = Curve()
    for step, loss in pairs:
        curve.add(step, loss)
    return tuple(curve.pairs())


def record_fit(
    db_path: Path,
    req: OfflineRequest,
    symbols: Sequence[str],
    union: Union,
    model: Model,
    fit: UnionFit,
    summary: dict[str, Any],
    clock: Clock,
) -> tuple[CheckpointInfo, str]:
    """Write ``model`` (the fit's best) as ``req``'s checkpoint and the run's records."""
    name = req.name or ""
    run_id = f"{FIT}-{uuid.uuid4().hex[:12]}"
    directory = checkpoint_dir_for(db_path)
    now = clock.now_ms()
    started = now - int(fit.duration_s * 1000)
    fresh = create_model(req.model, **req.model_settings())
    with Database(db_path) as db:
        info = save_named(directory, name, model, clock, replace=req.replace)
        settings = {**req.settings.to_json(), "workers": fit.world, "symbols": list(symbols)}
        record = OfflineRunRecord(
            run_id=run_id, kind=FIT, name=name, model=model.name,
            model_config=model.config(), symbol=",".join(symbols),
            timeframes=tuple(model.timeframes), range_start=req.start, range_end=req.end,
            settings=settings, epochs_run=len(fit.epochs), best_epoch=fit.best_epoch,
            train_losses=tuple(e.train_loss for e in fit.epochs),
            val_losses=tuple(e.val_loss for e in fit.epochs), checkpoint=info.name,
            created_at=now, duration_s=fit.duration_s,
            summary={**summary, "checkpoint": info.to_json()},
        )  # fmt: skip
        val = _curve(fit.val_curve)
        steps = fit.train_curve[-1][0] if fit.train_curve else 0
        run = RunRow(
            run_id=run_id, kind=KIND, model=model.name, model_config=model.config(),
            source={
                "kind": "decisions_union",
                "workers": fit.world,
                "parts": [dataset_source(p.data, req.start, req.end) for p in union.parts],
            },
            checkpoint_key=None, status=FINISHED, started_at=started, ended_at=now,
            start_step=0, start_hash=state_hash(fresh), steps=steps,
            train_curve=_curve(fit.train_curve), val_curve=val, convergence=convergence(val),
            value_per_1k=value_per_1k(val, steps), summary={"offline_run": run_id, **summary},
        )  # fmt: skip
        try:
            with db.transaction() as con:
                OfflineRunStore(db).save_in(con, record)
                TrainingRunStore(db).save_in(con, run)
        except BaseException:
            remove_named(directory, name)  # no record: the checkpoint would be an orphan
            raise
    return info, run_id

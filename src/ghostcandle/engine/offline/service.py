"""Offline training on one database: check, fit or walk forward, checkpoint, record the run.

What ``ghostcandle train`` (offline source) and the demo's start-up training call. Every
request is checked in full before anything is written: the model and its settings, the
timeframes, the range, the candles (whole windows, enough decisions for a fit or for every
fold) and the checkpoint name. A bad request raises a one-line error and leaves the database
and the checkpoint directory as they were. A fit writes its best weights as the named
checkpoint (``<db>.checkpoints/<name>/``), then, in one transaction, the run's record
(``offline_runs``), the frames it trained on (``frames``, by reference) and those decisions as
``candle`` training samples (``training_samples``). A walk-forward
writes only its record: every fold, and the aggregate evaluation. With a replay mode that
weighs decisions by their outcomes (``--replay profitable|top``), ``prepare`` measures the
outcomes and refuses a fit with no eligible decision. A fit also writes, in its transaction,
the rapid moves of its series (``rapid_moves``) and a pending outcome per trained sample
(``outcomes``), then validates them from the stored candles (``OutcomeValidator.run_due``):
an outcome whose horizon runs past the stored candles stays pending, or expires once its
grace is over. A fit through the trainer is also recorded as a training run
(``training_runs``, kind ``offline``, the id of its ``offline_runs`` row) with every step by
reference, so ``ghostcandle train replay-step`` recomputes any of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as with_fields
from functools import partial
from typing import Any

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import format_time
from ghostcandle.engine.offline.checkpoint import check_free, remove_named, save_named
from ghostcandle.engine.offline.dataset import DecisionDataset, check_timeframes, load_dataset
from ghostcandle.engine.offline.dqn_fit import experience_samples, fit_dqn
from ghostcandle.engine.offline.replay import ReplayPlan, outcome_config, series_rapid_moves
from ghostcandle.engine.offline.step_batches import dataset_source
from ghostcandle.engine.offline.trainer import (
    EpochResult,
    FitResult,
    FitSettings,
    Split,
    fit,
    split_in_time,
)
from ghostcandle.engine.offline.walk_forward import (
    FoldResult,
    PlannedFold,
    WalkForwardResult,
    WalkForwardSpec,
    plan,
    run_walk_forward,
)
from ghostcandle.engine.samples.outcomes import OutcomeRequest, OutcomeValidator
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.engine.training.checkpoints import CheckpointInfo, checkpoint_dir_for
from ghostcandle.engine.training.recording import RunSpec, TrainingRecorder
from ghostcandle.models.base import Model
from ghostcandle.models.depth_input import depth_window
from ghostcandle.models.dqn import DqnModel
from ghostcandle.models.registry import baseline_names, create_model, fit_baseline, model_names
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore, frame_row
from ghostcandle.store.offline_runs import FIT, WALK_FORWARD, OfflineRunRecord, OfflineRunStore
from ghostcandle.store.rapid_moves import RapidMoveStore


@dataclass(frozen=True, kw_only=True)
class OfflineRequest:
    """What to train: a learning family and settings, one symbol, timeframes, a range."""

    model: str
    symbol: str
    timeframes: Sequence[str]
    start: int
    end: int
    model_config: Mapping[str, Any] = field(default_factory=dict)
    settings: FitSettings = field(default_factory=FitSettings)
    #: the checkpoint's name (default: derived from model, symbol and range)
    name: str | None = None
    replace: bool = False

    def model_settings(self) -> dict[str, Any]:
        """Return what the model is built from (seed and timeframes filled in)."""
        return {
            "seed": self.settings.seed,
            "timeframes": list(self.timeframes),
            **dict(self.model_config),
        }

    def checkpoint_name(self) -> str:
        """Return the checkpoint's name: the one given, or ``<model>-<SYMBOL>-<from>-<to>``."""
        if self.name:
            return self.name
        span = "-".join(format_time(t)[:10].replace("-", "") for t in (self.start, self.end))
        return f"{self.model}-{normalise_symbol(self.symbol).replace('/', '')}-{span}"


@dataclass(frozen=True)
class Prepared:
    """A checked request: a fresh model, its decision points, and its time split."""

    model: Model
    data: DecisionDataset
    split: Split
    #: how epochs draw their decisions (None: every training decision once)
    replay: ReplayPlan | None = None


@dataclass(frozen=True)
class OfflineFit:
    """A finished fit: the result, its checkpoint and the stored record."""

    fit: FitResult
    checkpoint: CheckpointInfo
    record: OfflineRunRecord
    #: the trained samples' outcomes after the fit: validated, expired, still pending
    outcomes: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the run as one JSON-ready object."""
        return {
            **self.record.to_json(),
            "fit": self.fit.to_json(),
            "checkpoint_info": self.checkpoint.to_json(),
            "checkpoint_path": self.checkpoint.path,
            "outcomes": self.outcomes,
        }


class OfflineTrainingService:
    """Offline training on one database; what the CLI and the demo call."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.candles = CandleStore(db)
        self.runs = OfflineRunStore(db)

    # -- checks (nothing written) ----------------------------------------------------------
    def _model(self, req: OfflineRequest) -> Model:
        if req.model not in model_names():
            raise UserInputError(
                f"--model: unknown model {req.model!r}: use one of {', '.join(model_names())}"
            )
        if req.model in baseline_names(depth=True):
            raise UserInputError(
                f"--model: {req.model} is a baseline and never learns: choose a learning model"
            )
        check_timeframes(req.timeframes)
        model = create_model(req.model, **req.model_settings())
        if depth_window(model):
            raise UserInputError(
                f"--model: {req.model} reads order books, which offline training on stored "
                "candles does not read yet: train it on annotations, or in a replay or live "
                "session (`ghostcandle replay --model cob --mode every_candle`)"
            )
        return model

    def _data(self, req: OfflineRequest, model: Model) -> DecisionDataset:
        req.settings.check()
        return load_dataset(
            self.candles,
            normalise_symbol(req.symbol),
            model.timeframes,
            model.windows,
            req.start,
            req.end,
        )

    def prepare(self, req: OfflineRequest) -> Prepared:
        """Check a fit request in full (nothing is written); return what it trains."""
        model = self._model(req)
        check_free(checkpoint_dir_for(self.db.path), req.checkpoint_name(), replace=req.replace)
        data = self._data(req, model)
        split = split_in_time(
            data, data.rows_between(req.start, req.end), req.settings.val_fraction
        )
        s = req.settings
        replay = ReplayPlan.build(data, split.train, split.split_time, s.replay, seed=s.seed)
        return Prepared(model, data, split, replay)

    def plan_walk_forward(
        self, req: OfflineRequest, spec: WalkForwardSpec
    ) -> tuple[DecisionDataset, list[PlannedFold]]:
        """Check a walk-forward request and fix its folds (nothing is written)."""
        model = self._model(req)
        data = self._data(req, model)
        s = req.settings
        folds = plan(data, spec, req.start, req.end, s.val_fraction)
        for f in folds:  # each fold replays only the outcomes known by its own split
            ReplayPlan.build(data, f.split.train, f.split.split_time, s.replay, seed=s.seed)
        return data, folds

    # -- runs -------------------------------------------------------------------------------
    def train(
        self,
        req: OfflineRequest,
        *,
        prepared: Prepared | None = None,
        on_epoch: Callable[[EpochResult], None] | None = None,
    ) -> OfflineFit:
        """Fit, write the named checkpoint, record the run and its frames; return them.

        ``prepared`` is this request's ``prepare`` (checked again if not given).
        """
        p = prepared or self.prepare(req)
        run_id = f"{FIT}-{uuid.uuid4().hex[:12]}"
        if isinstance(p.model, DqnModel):  # an acting agent learns by episodes
            result: FitResult = fit_dqn(
                p.model, p.data, p.split, req.settings, clock=self.clock, on_epoch=on_epoch
            )
        else:
            spec = RunSpec(run_id, "offline", dataset_source(p.data, req.start, req.end))
            result = fit(
                p.model, p.data, p.split, req.settings, clock=self.clock, on_epoch=on_epoch,
                replay=p.replay, recorder=TrainingRecorder(self.db, spec, self.clock),
            )  # fmt: skip
        name = req.checkpoint_name()
        directory = checkpoint_dir_for(self.db.path)
        info = save_named(directory, name, result.model, self.clock, replace=req.replace)
        record = self._record(req, FIT, name, result.model, result.epochs, info.name, run_id)
        record = with_fields(
            record,
            best_epoch=result.best_epoch,
            duration_s=result.duration_s,
            summary={"fit": result.to_json(), "checkpoint": info.to_json()},
        )
        frames = FrameStore(self.db, self.candles)
        tf = p.data.target_timeframe
        refs = p.data.frames(p.split.train, f"offline/{result.model.name}", result.model.version)
        rows = [frame_row(ref, tf) for ref in refs]
        samples = SampleRegistry(self.db, self.clock, candles=self.candles)
        news = p.data.samples(p.split.train, refs)
        agent = experience_samples(result, p.split.train, refs, tf)
        validator = OutcomeValidator(
            self.db, config=outcome_config(p.data, req.settings.replay), clock=self.clock
        )
        pending = validator.pending_rows(
            [OutcomeRequest(s.sample_id, s.frame.symbol, s.timeframe, s.frame.decision_time,
                            frame_id=s.frame.frame_id) for s in news]
        )  # fmt: skip
        outs = p.replay.outcomes if p.replay is not None else None
        moves = outs.rapid_moves if outs is not None else series_rapid_moves(p.data)
        try:
            with self.db.transaction() as con:
                self.runs.save_in(con, record)
                frames.register_in(con, rows)
                samples.record_in(con, [*news, *agent])
                RapidMoveStore(self.db).write_in(con, moves)
                validator.store.insert_pending_in(con, pending)
        except BaseException:
            remove_named(directory, name)  # no record: the checkpoint would be an orphan
            raise
        done = validator.run_due(self.clock.now_ms())
        counts = {"validated": done.validated, "expired": done.expired, "pending": done.waiting}
        return OfflineFit(result, info, record, counts)

    def walk_forward(
        self,
        req: OfflineRequest,
        spec: WalkForwardSpec,
        *,
        on_folds: Callable[[Sequence[PlannedFold]], None] | None = None,
        on_epoch: Callable[[int, EpochResult], None] | None = None,
        on_fold: Callable[[FoldResult], None] | None = None,
        planned: tuple[DecisionDataset, Sequence[PlannedFold]] | None = None,
    ) -> tuple[WalkForwardResult, OfflineRunRecord]:
        """Fix the folds, report them (``on_folds``), then run and record the walk-forward.

        ``planned`` is this request's ``plan_walk_forward`` (made again if not given).
        """
        data, folds = planned or self.plan_walk_forward(req, spec)
        if on_folds is not None:
            on_folds(folds)
        model_settings = req.model_settings()
        result = run_walk_forward(
            data,
            spec,
            folds,
            lambda: create_model(req.model, **model_settings),
            partial(fold_baselines, data),
            req.settings,
            clock=self.clock,
            on_epoch=on_epoch,
            on_fold=on_fold,
        )
        record = self.walk_forward_record(req, result)
        with self.db.transaction() as con:
            self.runs.save_in(con, record)
        return result, record

    def walk_forward_record(
        self, req: OfflineRequest, result: WalkForwardResult
    ) -> OfflineRunRecord:
        """Return the record of a finished walk-forward (the caller writes it)."""
        last = result.folds[-1].fit
        record = self._record(req, WALK_FORWARD, req.name, last.model, (), None)
        return with_fields(
            record,
            epochs_run=sum(len(f.fit.epochs) for f in result.folds),
            duration_s=result.duration_s,
            summary=result.to_json(),
        )

    def _record(
        self,
        req: OfflineRequest,
        kind: str,
        name: str | None,
        model: Model,
        epochs: Sequence[EpochResult],
        checkpoint: str | None,
        run_id: str | None = None,
    ) -> OfflineRunRecord:
        return OfflineRunRecord(
            run_id=run_id or f"{kind}-{uuid.uuid4().hex[:12]}",
            kind=kind,
            name=name,
            model=model.name,
            model_config=model.config(),
            symbol=normalise_symbol(req.symbol),
            timeframes=tuple(model.timeframes),
            range_start=req.start,
            range_end=req.end,
            settings=req.settings.to_json(),
            epochs_run=len(epochs),
            best_epoch=None,
            train_losses=tuple(e.train_loss for e in epochs),
            val_losses=tuple(e.val_loss for e in epochs),
            checkpoint=checkpoint,
            created_at=self.clock.now_ms(),
            duration_s=0.0,
            summary={},
        )


def fold_baselines(data: DecisionDataset, p: PlannedFold) -> list[Model]:
    """Return the baselines of a fold, their constants fitted on its train window only."""
    history = [data.candles_between(p.fold.train_start, p.fold.train_end)]
    return [
        fit_baseline(
            create_model(b, timeframes=list(data.timeframes), windows=dict(data.windows)),
            history,
            data.threshold,
        )
        for b in baseline_names()
    ]

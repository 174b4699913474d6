"""Fit a model on decision points offline: epochs through the one trainer, early stopping.

The decision points are split in time: the last ``val_fraction`` of them (default 20%) are the
validation set, and only the earlier ones whose target closed before the first validation
decision are trained on, so nothing validated on was known when training on anything else.
Each epoch submits the training rows, shuffled by a generator seeded with ``(seed, epoch)``
(or, with a replay mode, the rows and importance weights its ``ReplayPlan`` draws for the
epoch: ``engine.offline.replay``), in batches to a ``Trainer`` (the single writer of the
weights; a few batches in flight, so the next batch is sliced while the current one trains; a
torch family's rows are normalised once and gathered in later epochs: ``batch_cache``).
After each epoch the published weights are scored on the validation set; the best are kept,
and training stops once ``patience`` epochs in a row have not improved on them. The
validation loss is the training objective computed from ``predict``: the Huber loss of the
normalised target candle plus ``action_weight`` times the cross-entropy of the action, so it
works for every family. Given a ``TrainingRecorder``, the trainer records the fit as a run and
every step by reference (``step_batches``: dataset rows, weights, sample ids), and each epoch's
validation loss is a point of the run's validation curve.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, OperationalError, UserInputError
from ghostcandle.domain.normalisation import normalise_windows
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.engine.offline.batch_cache import BatchCache
from ghostcandle.engine.offline.dataset import DecisionDataset
from ghostcandle.engine.offline.replay import ReplayPlan
from ghostcandle.engine.offline.step_batches import step_refs
from ghostcandle.engine.samples.replay import ReplaySettings
from ghostcandle.engine.training.recording import TrainingRecorder
from ghostcandle.engine.training.trainer import Snapshot, StepReport, Trainer
from ghostcandle.models.base import Model

#: Fewest decisions a fit trains on, and fewest it validates on.
MIN_TRAIN, MIN_VAL = 16, 4
MAX_EPOCHS = 1000
#: Batches handed to the trainer ahead of the one it trains (bounds the memory in flight).
IN_FLIGHT = 3
#: Decisions predicted at once when scoring.
PREDICT_BATCH = 1024


@dataclass(frozen=True, kw_only=True)
class FitSettings:
    """How to fit: epochs, batch size, early-stopping patience, validation share, seed."""

    epochs: int = 20
    batch_size: int = 256
    patience: int = 3
    val_fraction: float = 0.2
    seed: int = 0
    step_timeout_s: float = 120.0
    #: torch intra-op threads while fitting (None: leave torch's setting). One, as the backtest
    #: and the loop use on small machines: the trainer thread trains while this one slices the
    #: next batch, and on two cores more intra-op threads only contend.
    torch_threads: int | None = 1
    #: train at the lower CPU priority of live training (beside a live feed and inference);
    #: off for a batch job, which has nothing to yield to
    background: bool = False
    #: how epochs draw their samples (None: every training row once, shuffled)
    replay: ReplaySettings | None = None
    #: most MiB of normalised training rows a torch fit keeps between epochs (0: none kept)
    cache_mb: int = 512

    def check(self) -> FitSettings:
        """Return self if every setting is usable, else raise a one-line ``UserInputError``."""
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise UserInputError(f"--epochs {self.epochs} is not in 1..{MAX_EPOCHS}")
        if self.batch_size < 1:
            raise UserInputError(f"--batch-size {self.batch_size} must be at least 1")
        if self.patience < 1:
            raise UserInputError(f"--patience {self.patience} must be at least 1 epoch")
        if not 0.0 < self.val_fraction < 1.0:
            raise UserInputError(
                f"validation fraction {self.val_fraction} is not in (0, 1): e.g. 0.2"
            )
        if self.cache_mb < 0:
            raise UserInputError(f"cache of {self.cache_mb} MiB: give 0 (none) or more")
        if self.replay is not None:
            self.replay.check()
        return self

    def to_json(self) -> dict[str, Any]:
        """Return the settings as plain JSON values."""
        out: dict[str, Any] = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "patience": self.patience,
            "val_fraction": self.val_fraction,
            "seed": self.seed,
        }
        if self.replay is not None:
            out["replay"] = self.replay.to_json()
        return out


@dataclass(frozen=True)
class Split:
    """Training and validation rows of a dataset; validation is later in time."""

    train: np.ndarray
    val: np.ndarray
    #: the first validation decision: every training target closed by then
    split_time: int


def split_in_time(data: DecisionDataset, rows: np.ndarray, val_fraction: float) -> Split:
    """Split ``rows`` (ascending) into earlier training rows and the later ``val_fraction``.

    Raise ``DataMissingError`` when either side would be too small to fit on.
    """
    n_val = max(MIN_VAL, math.ceil(len(rows) * val_fraction))
    val = rows[len(rows) - n_val :] if n_val < len(rows) else rows[:0]
    split_time = int(data.decision_time[val[0]]) if len(val) else 0
    train = rows[: len(rows) - len(val)]
    train = train[data.target_close[train] <= split_time]
    if len(train) < MIN_TRAIN or len(val) < MIN_VAL:
        raise DataMissingError(
            f"{len(rows)} decision points are too few to train and validate on (need "
            f"{MIN_TRAIN} + {MIN_VAL} at least): widen the range or shorten the windows"
        )
    return Split(train=train, val=val, split_time=split_time)


@dataclass(frozen=True)
class EpochResult:
    """One epoch: mean training loss, validation loss, whether it is the best so far."""

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    best: bool
    failed_steps: int
    duration_s: float
    #: seconds spent on the training steps (the rest of ``duration_s`` is validation)
    train_s: float = 0.0
    samples: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return the epoch as plain JSON values."""
        return {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "best": self.best,
            "failed_steps": self.failed_steps,
            "duration_s": round(self.duration_s, 3),
            "train_s": round(self.train_s, 3),
            "samples": self.samples,
        }


@dataclass(frozen=True)
class FitResult:
    """A finished fit: the best weights, every epoch, and what it trained and validated on."""

    model: Model = field(repr=False)
    epochs: tuple[EpochResult, ...]
    best_epoch: int
    stopped_early: bool
    train_samples: int
    val_samples: int
    split_time: int
    samples_per_s: float
    duration_s: float
    #: the replay's settings and pool (None: every training row once per epoch)
    replay: dict[str, Any] | None = None

    @property
    def best_val_loss(self) -> float:
        """Return the validation loss of the kept weights."""
        return self.epochs[self.best_epoch - 1].val_loss

    def to_json(self) -> dict[str, Any]:
        """Return the fit as plain JSON values (without the weights)."""
        return {
            "epochs": [e.to_json() for e in self.epochs],
            "epochs_run": len(self.epochs),
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_val_loss,
            "stopped_early": self.stopped_early,
            "train_samples": self.train_samples,
            "val_samples": self.val_samples,
            "split_time": self.split_time,
            "samples_per_s": round(self.samples_per_s, 1),
            "duration_s": round(self.duration_s, 3),
            "model_version": self.model.version,
            **({"replay": self.replay} if self.replay is not None else {}),
        }


OnEpoch = Callable[[EpochResult], None]


def fit(
    model: Model,
    data: DecisionDataset,
    split: Split,
    settings: FitSettings,
    *,
    clock: Clock,
    on_epoch: OnEpoch | None = None,
    replay: ReplayPlan | None = None,
    recorder: TrainingRecorder | None = None,
) -> FitResult:
    """Train ``model`` on ``split.train`` until the validation loss stops improving.

    The trainer owns ``model`` while it runs; the result holds the best published weights (an
    immutable snapshot copy). ``replay``: this fit's plan, already built (else built here from
    ``settings.replay``). Raise ``UserInputError`` for a model that never learns,
    ``DataMissingError`` for a replay with no eligible sample and ``OperationalError`` when an
    epoch has no good step at all.
    """
    settings.check()
    if settings.torch_threads is not None:
        torch.set_num_threads(settings.torch_threads)
    if not model.learns:
        raise UserInputError(
            f"{model.name} is a baseline and never learns: choose a learning model"
        )
    plan = replay or ReplayPlan.build(
        data, split.train, split.split_time, settings.replay, seed=settings.seed
    )
    t_start = time.perf_counter()
    batches: BatchCache | DecisionDataset = (
        BatchCache.for_fit(model, data, split.train, settings.cache_mb * 2**20) or data
    )
    trainer = Trainer(
        model,
        clock=clock,
        step_timeout_s=settings.step_timeout_s,
        lower_priority=settings.background,
        recorder=recorder,
    ).start()
    epochs: list[EpochResult] = []
    best: Snapshot | None = None
    best_loss, best_epoch, stale = math.inf, 0, 0
    trained = 0
    try:
        for epoch in range(1, settings.epochs + 1):
            t0 = time.perf_counter()
            if plan is None:
                rng = np.random.default_rng([settings.seed, epoch])
                order, weights = rng.permutation(split.train), None
            else:
                order, weights = plan.epoch(epoch, settings.epochs)
            reports = _run_epoch(
                trainer,
                data,
                order,
                settings.batch_size,
                weights,
                recorded=recorder is not None,
                batches=batches,
            )
            train_s = time.perf_counter() - t0
            good = [(r, n) for r, n in reports if r.ok]
            if not good:
                raise OperationalError(
                    f"epoch {epoch}: no training step succeeded ({reports[0][0].status}: "
                    f"{reports[0][0].error}): see the log"
                )
            trained += sum(n for _, n in reports)
            train_loss = sum(r.losses["loss"] * n for r, n in good) / sum(n for _, n in good)
            snap = trainer.snapshot
            val_loss = validation_loss(snap.model, data, split.val)
            if recorder is not None:
                recorder.validation(snap.step, val_loss)
            improved = val_loss < best_loss
            if improved:
                best, best_loss, best_epoch, stale = snap, val_loss, epoch, 0
            else:
                stale += 1
            result = EpochResult(
                epoch=epoch,
                epochs=settings.epochs,
                train_loss=train_loss,
                val_loss=val_loss,
                best=improved,
                failed_steps=len(reports) - len(good),
                duration_s=time.perf_counter() - t0,
                train_s=train_s,
                samples=sum(n for _, n in reports),
            )
            epochs.append(result)
            if on_epoch is not None:
                on_epoch(result)
            if stale >= settings.patience:
                break
    except BaseException as exc:
        if recorder is not None:
            recorder.fail(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        trainer.stop(timeout_s=settings.step_timeout_s)
    assert best is not None  # the first epoch always improves on infinity
    elapsed = time.perf_counter() - t_start
    return FitResult(
        model=best.model,
        epochs=tuple(epochs),
        best_epoch=best_epoch,
        stopped_early=len(epochs) < settings.epochs,
        train_samples=len(split.train),
        val_samples=len(split.val),
        split_time=split.split_time,
        samples_per_s=trained / elapsed if elapsed > 0 else 0.0,
        duration_s=elapsed,
        replay=None if plan is None else plan.summary(),
    )


def _run_epoch(
    trainer: Trainer,
    data: DecisionDataset,
    order: np.ndarray,
    batch_size: int,
    weights: np.ndarray | None = None,
    *,
    recorded: bool = False,
    batches: BatchCache | DecisionDataset | None = None,
) -> list[tuple[StepReport, int]]:
    """Submit one epoch's batches, a few ahead; return each step's report and batch size.

    ``weights``: per row of ``order``, the importance weight its loss is multiplied by.
    ``recorded``: give each batch its references (rows, weights, sample ids) for the record.
    ``batches``: where the batches come from (``data`` itself, or the fit's ``BatchCache``).
    """
    source = data if batches is None else batches
    name = trainer.snapshot.model.name
    pending: deque[tuple[Future[StepReport], int]] = deque()
    out: list[tuple[StepReport, int]] = []
    for a in range(0, len(order), batch_size):
        # time order within a batch: the series slices are then read front to back
        part = order[a : a + batch_size]
        by_time = np.argsort(part, kind="stable")
        rows = part[by_time]
        batch = source.batch(rows)
        if weights is not None:
            batch = replace(batch, weights=weights[a : a + batch_size][by_time])
        if recorded:
            batch = replace(batch, source_refs=step_refs(data, rows, batch.weights, name))
        pending.append((trainer.submit(batch, source=TrainingSource.OFFLINE), len(rows)))
        while len(pending) > IN_FLIGHT:
            fut, n = pending.popleft()
            out.append((fut.result(), n))
    while pending:
        fut, n = pending.popleft()
        out.append((fut.result(), n))
    return out


def validation_loss(model: Model, data: DecisionDataset, rows: np.ndarray) -> float:
    """Return the model's mean loss on ``rows`` from its predictions (see module doc)."""
    tf = data.target_timeframe
    weight = float(model.config().get("action_weight", 1.0))
    candle_sum, action_sum = 0.0, 0.0
    for a in range(0, len(rows), PREDICT_BATCH):
        part = rows[a : a + PREDICT_BATCH]
        inputs, scales = data.inputs(part)
        out = model.predict(inputs)
        target = normalise_windows(data.targets(part)[:, None, :], scales[tf])[:, 0]
        err = np.abs(np.asarray(out.candles[tf], np.float64) - target)
        huber = np.where(err < 1.0, 0.5 * err**2, err - 0.5)
        candle_sum += float(huber.mean(axis=1).sum())
        probs = np.asarray(out.action_probs, np.float64)
        picked = probs[np.arange(len(part)), data.labels[part]]
        action_sum += float(-np.log(np.clip(picked, 1e-12, 1.0)).sum())
    return (candle_sum + weight * action_sum) / max(1, len(rows))

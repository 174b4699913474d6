"""Batch training on annotations: test cases materialised from frame references, one trainer.

Every chosen annotation's frame is materialised from the candle store (DESIGN.md §3) into one
labelled batch (LONG -> BUY, SHORT -> SELL, the next candle of the annotation's timeframe as
target), submitted once per epoch to a ``Trainer`` (the single writer of the model's weights).
After each epoch ``on_epoch`` gets epoch, loss, accuracy on the batch and duration; at the end
the trainer checkpoints the weights under ``annotations-<model>`` beside the database, where
``start_from: annotations`` finds them. Each annotation is read as its training sample
(``store.samples``): one whose candles changed since it was marked is quarantined and one whose
input is too incomplete is excluded; both are counted and left out, and training goes on with
the rest. The workspace's training panel and ``ghostcandle train
--annotations`` both run this. On a writable database the run is recorded (``training_runs``,
kind ``annotations``) with every step (``training_step_records``), so ``ghostcandle train
replay-step`` can recompute any of them from the annotations.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ghostcandle.domain.actions import Action
from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.order_book import HOW_TO_GET_DEPTH
from ghostcandle.domain.sample_quality import QualityRules
from ghostcandle.domain.timeframes import TIMEFRAMES, duration_ms
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.engine.training.checkpoints import (
    CheckpointInfo,
    CheckpointStore,
    checkpoint_dir_for,
)
from ghostcandle.engine.training.recording import RunSpec, TrainingRecorder
from ghostcandle.engine.training.start_checkpoint import annotation_checkpoint_key
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.models.base import ModelInputs, TrainingBatch
from ghostcandle.models.depth_input import DEPTH, depth_window, with_depth
from ghostcandle.models.inputs import normalise_targets, prepare_inputs, training_batch
from ghostcandle.models.registry import baseline_names, create_model, model_names
from ghostcandle.store.annotations import Annotation, AnnotationStore, annotation_sample
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthStore

NO_CASES = "No test cases found — create annotations first"
#: A timeframe is used only if every annotation's frame holds at least this many candles of it.
MIN_WINDOW = 10
#: per-second books attached to annotation batches where stored (the cob default reads 10)
ANNOTATION_DEPTH = 10
MAX_EPOCHS = 1000
#: How many annotation checkpoints of a model are kept.
KEEP_CHECKPOINTS = 3


def web_field(name: str) -> str:
    """Name a request field as the API does (``field 'model'``)."""
    return f"field '{name}'"


def check_request(model: str, epochs: int, *, field: Callable[[str], str] = web_field) -> None:
    """Refuse an unknown or non-learning model and an epoch count out of range.

    ``field`` spells a parameter's name the way the caller's user wrote it (``--model``).
    """
    if model not in model_names():
        raise UserInputError(
            f"{field('model')}: unknown model {model!r}: use one of {', '.join(model_names())}"
        )
    if model in baseline_names():
        raise UserInputError(
            f"{field('model')}: {model} is a baseline and never learns: choose a learning model"
        )
    if not 1 <= epochs <= MAX_EPOCHS:
        raise UserInputError(f"{field('epochs')}: {epochs} is not in 1..{MAX_EPOCHS}")


def select_annotations(
    store: AnnotationStore, annotation_ids: Sequence[str] | None
) -> list[Annotation]:
    """Return the annotations named by id (an unknown id raises), or all of them."""
    if annotation_ids:
        return [store.get(a) for a in annotation_ids]
    return store.list()


def annotation_books(store: AnnotationStore, anns: Sequence[Annotation]) -> np.ndarray | None:
    """Return the stored books of ``ANNOTATION_DEPTH`` seconds up to each annotation's decision.

    None unless every annotation has them all (rows at or before its decision time only).
    """
    depth = DepthStore(store.candles.db)
    out = []
    for ann in anns:
        books, ok = depth.levels_at(ann.symbol, [ann.frame.decision_time], ANNOTATION_DEPTH)
        if not ok[0]:
            return None
        out.append(books[0])
    return np.stack(out)


@dataclass(frozen=True)
class AnnotationBatch:
    """The batch built from annotations, and the model shape it fits."""

    batch: TrainingBatch
    timeframes: tuple[str, ...]
    windows: dict[str, int]
    labels: np.ndarray


def build_annotation_batch(store: AnnotationStore, anns: Sequence[Annotation]) -> AnnotationBatch:
    """Materialise ``anns`` into one batch over the timeframes every frame holds."""
    raw: list[dict[str, np.ndarray]] = []
    for ann in anns:
        raw.append({w.spec.timeframe: w.values for w in store.candles.materialise(ann.frame)})
    shared = set.intersection(*(set(r) for r in raw))
    windows = {
        tf: min(len(r[tf]) for r in raw)
        for tf in sorted(shared, key=lambda t: TIMEFRAMES[t])
        if min(len(r[tf]) for r in raw) >= MIN_WINDOW
    }
    if not windows:
        raise UserInputError(
            f"the chosen annotations share no timeframe with {MIN_WINDOW}+ candles before their "
            "entry: mark trades later in the history"
        )
    inputs, params = prepare_inputs(raw, windows)
    books = annotation_books(store, anns)
    if books is not None:  # extras: only a model that reads the order book looks at them
        inputs = with_depth(inputs, books)
    targets: list[dict[str, np.ndarray]] = []
    for ann in anns:
        target: dict[str, np.ndarray] = {}
        if ann.timeframe in windows:
            nxt = ann.entry_time + duration_ms(ann.timeframe)
            df = store.candles.read(ann.symbol, ann.timeframe, nxt, nxt)
            if len(df) == 1:
                target[ann.timeframe] = df[list(VALUE_COLUMNS)].to_numpy(dtype=np.float64)[0]
        targets.append(target)
    tfs = tuple(windows)
    labels = np.array(
        [int(Action.BUY if a.direction == "LONG" else Action.SELL) for a in anns], dtype=np.int64
    )
    batch = training_batch(inputs, normalise_targets(targets, params, tfs), labels)
    return AnnotationBatch(batch, tfs, windows, labels)


#: Annotations needed before the newest fifth is held out of training to score the model.
MIN_FOR_HELD_OUT = 5


def split_by_time(anns: Sequence[Annotation]) -> tuple[list[Annotation], list[Annotation]]:
    """Return (train, held out): the newest fifth by entry is held out, from 5 annotations on.

    Time order, not a shuffle: the held-out trades all come after the trained ones, as the
    trades the model will meet do.
    """
    ordered = sorted(anns, key=lambda a: (a.decision_time, a.annotation_id))
    held = len(ordered) // 5 if len(ordered) >= MIN_FOR_HELD_OUT else 0
    return ordered[: len(ordered) - held], ordered[len(ordered) - held :]


def held_out_inputs(
    store: AnnotationStore, anns: Sequence[Annotation], built: AnnotationBatch
) -> tuple[ModelInputs, np.ndarray] | None:
    """Return the inputs and labels of the held-out ``anns`` in the trained batch's shape.

    A held-out trade whose frame is shorter than the model's windows cannot be scored and is
    left out; None when none can be (or the model reads books they lack).
    """
    raw: list[dict[str, np.ndarray]] = []
    kept: list[Annotation] = []
    for ann in anns:
        r = {w.spec.timeframe: w.values for w in store.candles.materialise(ann.frame)}
        if all(tf in r and len(r[tf]) >= n for tf, n in built.windows.items()):
            raw.append(r)
            kept.append(ann)
    if not raw:
        return None
    inputs, _ = prepare_inputs(raw, built.windows)
    if DEPTH in built.batch.inputs.extras:
        books = annotation_books(store, kept)
        if books is None:
            return None
        inputs = with_depth(inputs, books)
    labels = np.array(
        [int(Action.BUY if a.direction == "LONG" else Action.SELL) for a in kept], dtype=np.int64
    )
    return inputs, labels


@dataclass(frozen=True)
class EpochReport:
    """One epoch: the batch's loss, the share of trained annotations the model now gets right,
    and the share of held-out ones (never trained on; None when none are held out)."""

    epoch: int
    epochs: int
    loss: float
    accuracy: float
    duration_s: float
    held_out_accuracy: float | None = None
    held_out: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return the epoch as the panel and ``--json`` show it."""
        return {
            "epoch": self.epoch,
            "loss": self.loss,
            "accuracy": self.accuracy,
            "held_out_accuracy": self.held_out_accuracy,
            "held_out": self.held_out,
            "duration_s": self.duration_s,
        }


@dataclass(frozen=True)
class AnnotationTrainingResult:
    """A finished training run on annotations."""

    model: str
    samples: int
    timeframes: tuple[str, ...]
    windows: dict[str, int]
    epochs: tuple[EpochReport, ...]
    checkpoint: CheckpointInfo | None
    total_s: float
    #: annotations left out: their candles changed since (quarantined), or too incomplete
    quarantined: int = 0
    excluded: int = 0
    #: the recorded run (``ghostcandle train show RUN``); None on a read-only database
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the run as one JSON-ready object."""
        return {
            "model": self.model,
            "source": TrainingSource.ANNOTATIONS.value,
            "samples": self.samples,
            "quarantined": self.quarantined,
            "excluded": self.excluded,
            "timeframes": list(self.timeframes),
            "windows": dict(self.windows),
            "epochs": [e.to_json() for e in self.epochs],
            "checkpoint": None
            if self.checkpoint is None
            else {**self.checkpoint.to_json(), "path": self.checkpoint.path},
            "checkpoint_key": annotation_checkpoint_key(self.model),
            "duration_s": self.total_s,
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class CheckedAnnotations:
    """The annotations that may be trained on, and how many were left out and why."""

    trainable: list[Annotation]
    quarantined: int
    excluded: int
    reasons: tuple[str, ...]


def check_annotations(
    store: AnnotationStore, annotations: Sequence[Annotation], now: int
) -> CheckedAnnotations:
    """Read ``annotations`` as training samples: verify each, keep only trainable ones.

    Annotations marked before samples existed get their sample now (recording checks it too).
    """
    samples = store.samples
    recorded = samples.record([annotation_sample(a) for a in annotations], now=now)
    # a case is judged by the timeframe it trades; coarser windows that history could not fill
    # are context, and the batch reads only the timeframes every case holds enough of
    rules = QualityRules(timeframes=tuple(sorted({a.timeframe for a in annotations})))
    got = samples.verify([s.sample_id for s in recorded], now=now, rules=rules)
    ok = {s.origin for s in got.trainable}
    return CheckedAnnotations(
        [a for a in annotations if f"annotation:{a.annotation_id}" in ok],
        quarantined=len(got.quarantined) + len(got.held),
        excluded=len(got.excluded),
        reasons=tuple(dict.fromkeys(s.reason for s in got.left_out)),
    )


def train_on_annotations(
    db: Database,
    store: AnnotationStore,
    model: str,
    epochs: int,
    annotations: Sequence[Annotation],
    *,
    clock: Clock,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> AnnotationTrainingResult:
    """Train a fresh ``model`` on ``annotations`` for ``epochs``; checkpoint it at the end.

    Raises ``DataMissingError`` (``NO_CASES``) without annotations, ``UserInputError`` for a
    bad request, ``RuntimeError`` if an epoch's step fails. On failure the good steps so far
    are still checkpointed (the trainer checkpoints its last good state when it stops).
    """
    check_request(model, epochs)
    if not annotations:
        raise DataMissingError(NO_CASES)
    t_start = time.perf_counter()
    checked = check_annotations(store, annotations, clock.now_ms())
    if not checked.trainable:
        raise DataMissingError(
            f"none of the {len(annotations)} annotation(s) can be trained on "
            f"({checked.reasons[0] if checked.reasons else 'no sample'}): "
            "re-mark the trades on the stored candles"
        )
    trained, held = split_by_time(checked.trainable)
    built = build_annotation_batch(store, trained)
    scored = held_out_inputs(store, held, built) if held else None
    ids = [a.annotation_id for a in trained]
    batch = replace(
        built.batch,
        source_refs={
            "kind": "annotations",
            "id_kind": "sample",
            "ids": [annotation_sample(a).sample_id for a in trained],
        },
    )
    net = create_model(model, timeframes=list(built.timeframes), windows=built.windows)
    if depth_window(net) and DEPTH not in built.batch.inputs.extras:
        raise DataMissingError(
            f"the {model} model reads the order book but it is not stored for every chosen "
            f"annotation's last {ANNOTATION_DEPTH} s: {HOW_TO_GET_DEPTH}"
        )
    recorder = None
    if not db.read_only:
        spec = RunSpec(
            run_id=f"annotations-{uuid.uuid4().hex[:12]}",
            kind="annotations",
            source={"kind": "annotations", "annotation_ids": ids},
            checkpoint_key=annotation_checkpoint_key(model),
        )
        recorder = TrainingRecorder(db, spec, clock)
    trainer = Trainer(
        net,
        clock=clock,
        checkpoints=CheckpointStore(checkpoint_dir_for(db.path), clock, keep=KEEP_CHECKPOINTS),
        checkpoint_key=annotation_checkpoint_key(model),
        checkpoint_every=10**9,  # once, when it stops
        resume=False,
        step_timeout_s=120.0,
        recorder=recorder,
    ).start()
    reports: list[EpochReport] = []
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            step = trainer.submit(batch, source=TrainingSource.ANNOTATIONS).result()
            if not step.ok:
                if recorder is not None:
                    recorder.fail(f"epoch {epoch}: {step.status}: {step.error}")
                raise RuntimeError(f"epoch {epoch}: {step.status}: {step.error}")
            outputs, _ = trainer.predict(built.batch.inputs)
            held_acc = None
            if scored is not None:
                held_outputs, _ = trainer.predict(scored[0])
                held_acc = float(np.mean(held_outputs.actions == scored[1]))
            report = EpochReport(
                epoch=epoch,
                epochs=epochs,
                loss=step.losses.get("loss", float("nan")),
                accuracy=float(np.mean(outputs.actions == built.labels)),
                duration_s=time.perf_counter() - t0,
                held_out_accuracy=held_acc,
                held_out=0 if scored is None else len(scored[1]),
            )
            reports.append(report)
            if on_epoch is not None:
                on_epoch(report)
    finally:
        trainer.stop(timeout_s=60 if len(reports) == epochs else 10)
    return AnnotationTrainingResult(
        model=model,
        samples=len(trained),
        timeframes=built.timeframes,
        windows=dict(built.windows),
        epochs=tuple(reports),
        checkpoint=trainer.last_checkpoint,
        total_s=time.perf_counter() - t_start,
        quarantined=checked.quarantined,
        excluded=checked.excluded,
        run_id=None if recorder is None else recorder.run_id,
    )

"""Batch training on annotations: test cases materialised from frame references, one trainer.

A job runs on its own thread: it materialises every chosen annotation's frame from the candle
store (DESIGN.md §3), builds one labelled batch (LONG -> BUY, SHORT -> SELL, the next candle of
the annotation's timeframe as target), and submits it once per epoch to a ``Trainer`` (the single
writer of the model's weights). After each epoch it pushes epoch, loss, accuracy on the batch
and duration; at the end the trainer checkpoints the weights.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ghostcandle.domain.actions import Action
from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import ConflictError, GhostcandleError, UserInputError
from ghostcandle.domain.timeframes import TIMEFRAMES, duration_ms
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.engine.training.start_checkpoint import annotation_checkpoint_key
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.models.base import TrainingBatch
from ghostcandle.models.inputs import normalise_targets, prepare_inputs, training_batch
from ghostcandle.models.registry import baseline_names, create_model, model_names
from ghostcandle.store.annotations import Annotation, AnnotationStore
from ghostcandle.store.db import Database

log = logging.getLogger(__name__)

NO_CASES = "No test cases found — create annotations first"
#: A timeframe is used only if every annotation's frame holds at least this many candles of it.
MIN_WINDOW = 10

Publish = Callable[[dict[str, Any]], None]


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
    targets: list[dict[str, np.ndarray]] = []
    for ann in anns:
        target: dict[str, np.ndarray] = {}
        if ann.timeframe in windows:
            nxt = ann.entry_time + duration_ms(ann.timeframe)
            df = store.candles.read(ann.symbol, ann.timeframe, nxt, nxt)
            if len(df) == 1:
                target[ann.timeframe] = df[["open", "high", "low", "close", "volume"]].to_numpy(
                    dtype=np.float64
                )[0]
        targets.append(target)
    tfs = tuple(windows)
    labels = np.array(
        [int(Action.BUY if a.direction == "LONG" else Action.SELL) for a in anns], dtype=np.int64
    )
    batch = training_batch(inputs, normalise_targets(targets, params, tfs), labels)
    return AnnotationBatch(batch, tfs, windows, labels)


class TrainingJobs:
    """Run at most one annotation-training job at a time and report it through ``publish``."""

    def __init__(
        self, db: Database, annotations: AnnotationStore, clock: Clock, publish: Publish
    ) -> None:
        self.db = db
        self.annotations = annotations
        self.clock = clock
        self.publish = publish
        self.state: dict[str, Any] = {"status": "idle"}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # every state carries an increasing seq: the page drops one older than what it shows
        self._seq = itertools.count(1)

    @staticmethod
    def models() -> list[dict[str, Any]]:
        """Return the registry's families and whether each learns."""
        never = set(baseline_names())
        return [{"name": n, "learns": n not in never} for n in model_names()]

    def start(
        self, model: str, epochs: int, annotation_ids: Sequence[str] | None
    ) -> dict[str, Any]:
        """Validate the request and start the job; return its first state."""
        if model not in model_names():
            raise UserInputError(
                f"field 'model': unknown model {model!r}: use one of {', '.join(model_names())}"
            )
        if model in baseline_names():
            raise UserInputError(
                f"field 'model': {model} is a baseline and never learns: choose a learning model"
            )
        anns = (
            [self.annotations.get(a) for a in annotation_ids]
            if annotation_ids
            else self.annotations.list()
        )
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise ConflictError("a training job is running: wait for it to finish")
            if not anns:
                self.state = {
                    "event": "status",
                    "status": "no_data",
                    "message": NO_CASES,
                    "model": model,
                    "seq": next(self._seq),
                }
                return self.state
            self.state = {
                "event": "status",
                "status": "running",
                "model": model,
                "epochs": epochs,
                "samples": len(anns),
                "started_at": self.clock.now_ms(),
                "message": f"training {model} on {len(anns)} test case(s) for {epochs} epochs…",
                "seq": next(self._seq),
            }
            self._thread = threading.Thread(
                target=self._run,
                args=(model, epochs, anns),
                name="annotation-training",
                daemon=True,
            )
            self._thread.start()
            return self.state

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait for the running job (tests, shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _emit(self, **data: Any) -> None:
        self.state = {**self.state, **data, "seq": next(self._seq)}
        self.publish(dict(self.state))

    def _run(self, model_name: str, epochs: int, anns: list[Annotation]) -> None:
        t_start = time.perf_counter()
        trainer: Trainer | None = None
        try:
            built = build_annotation_batch(self.annotations, anns)
            model = create_model(
                model_name, timeframes=list(built.timeframes), windows=built.windows
            )
            trainer = Trainer(
                model,
                clock=self.clock,
                checkpoints=CheckpointStore(checkpoint_dir_for(self.db.path), self.clock, keep=3),
                checkpoint_key=annotation_checkpoint_key(model_name),
                checkpoint_every=10**9,
                resume=False,
                step_timeout_s=120.0,
            ).start()
            for epoch in range(1, epochs + 1):
                t0 = time.perf_counter()
                report = trainer.submit(built.batch, source="annotations").result()
                if not report.ok:
                    raise RuntimeError(f"epoch {epoch}: {report.status}: {report.error}")
                outputs, _ = trainer.predict(built.batch.inputs)
                accuracy = float(np.mean(outputs.actions == built.labels))
                self._emit(
                    event="epoch",
                    epoch=epoch,
                    loss=report.losses.get("loss", float("nan")),
                    accuracy=accuracy,
                    duration_s=time.perf_counter() - t0,
                    message=f"epoch {epoch}/{epochs}",
                )
            trainer.stop(timeout_s=60)
            ckpt = trainer.last_checkpoint
            self._emit(
                event="status",
                status="completed",
                checkpoint=None if ckpt is None else ckpt.path,
                total_s=time.perf_counter() - t_start,
                message=f"completed {epochs} epochs in {time.perf_counter() - t_start:.1f}s; "
                f"checkpoint {'saved' if ckpt else 'NOT saved'}"
                + (f" ({Path(ckpt.path).name})" if ckpt else ""),
            )
        except (GhostcandleError, RuntimeError, ValueError) as exc:
            if trainer is not None:
                trainer.stop(timeout_s=10)
            self._emit(event="status", status="failed", reason=str(exc), message=f"failed: {exc}")
        except Exception as exc:  # a job's crash is reported to the trader, not lost in a thread
            log.exception("annotation training failed")
            if trainer is not None:
                trainer.stop(timeout_s=10)
            self._emit(
                event="status",
                status="failed",
                reason=f"{type(exc).__name__}: {exc}",
                message=f"failed: {type(exc).__name__}: {exc}",
            )

"""The training panel's job: batch training on annotations on a background thread, over SSE.

The training itself is the engine's (``engine.training.annotation_training``, also run by
``ghostcandle train --annotations``); this adapter runs at most one job at a time on its own
thread, keeps the job's state (each with an increasing ``seq``) and publishes every change.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import ConflictError, GhostcandleError
from ghostcandle.engine.training.annotation_training import (
    NO_CASES,
    EpochReport,
    check_request,
    select_annotations,
    train_on_annotations,
)
from ghostcandle.models.registry import baseline_names, model_names
from ghostcandle.store.annotations import Annotation, AnnotationStore
from ghostcandle.store.db import Database
from ghostcandle.web.job_state import JobState

log = logging.getLogger(__name__)

Publish = Callable[[dict[str, Any]], None]


class TrainingJobs:
    """Run at most one annotation-training job at a time and report it through ``publish``."""

    def __init__(
        self, db: Database, annotations: AnnotationStore, clock: Clock, publish: Publish
    ) -> None:
        self.db = db
        self.annotations = annotations
        self.clock = clock
        self.publish = publish
        self.state: dict[str, Any] = {"status": JobState.IDLE}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # every state carries an increasing seq: the page drops one older than what it shows
        self._seq = itertools.count(1)

    @staticmethod
    def models() -> list[dict[str, Any]]:
        """Return the registry's families and whether each learns."""
        never = set(baseline_names(depth=True))
        return [{"name": n, "learns": n not in never} for n in model_names()]

    def start(
        self, model: str, epochs: int, annotation_ids: Sequence[str] | None
    ) -> dict[str, Any]:
        """Validate the request and start the job; return its first state."""
        check_request(model, epochs)
        anns = select_annotations(self.annotations, annotation_ids)
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise ConflictError("a training job is running: wait for it to finish")
            if not anns:
                self.state = {
                    "event": "status",
                    "status": JobState.NO_DATA,
                    "message": NO_CASES,
                    "model": model,
                    "seq": next(self._seq),
                }
                return self.state
            self.state = {
                "event": "status",
                "status": JobState.RUNNING,
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

    def _on_epoch(self, e: EpochReport) -> None:
        self._emit(event="epoch", **e.to_json(), message=f"epoch {e.epoch}/{e.epochs}")

    def _run(self, model: str, epochs: int, anns: list[Annotation]) -> None:
        try:
            result = train_on_annotations(
                self.db, self.annotations, model, epochs, anns,
                clock=self.clock, on_epoch=self._on_epoch,
            )  # fmt: skip
            ckpt = result.checkpoint
            self._emit(
                event="status",
                status=JobState.COMPLETED,
                checkpoint=None if ckpt is None else ckpt.path,
                total_s=result.total_s,
                message=f"completed {epochs} epochs in {result.total_s:.1f}s; "
                f"checkpoint {'saved' if ckpt else 'NOT saved'}"
                + (f" ({Path(ckpt.path).name})" if ckpt else ""),
            )
        except (GhostcandleError, RuntimeError, ValueError) as exc:
            self._emit(
                event="status", status=JobState.FAILED, reason=str(exc), message=f"failed: {exc}"
            )
        except Exception as exc:  # a job's crash is reported to the trader, not lost in a thread
            log.exception("annotation training failed")
            self._emit(
                event="status",
                status=JobState.FAILED,
                reason=f"{type(exc).__name__}: {exc}",
                message=f"failed: {type(exc).__name__}: {exc}",
            )

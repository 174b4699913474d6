"""The one writer of a model's weights, and the published snapshots inference reads.

Every update of a model (per-candle online steps, manual requests, batch training on
annotations) is submitted to its ``Trainer``; one thread applies them one at a time, in order,
so no two updates ever interleave. Inference never touches the weights being trained: after
each good step the trainer publishes an immutable copy (a ``Snapshot``) by swapping one
reference, and ``predict`` runs on whatever snapshot is current. It takes no lock and never
waits for training.

A step is run on a worker thread and judged before anything is published (``step_worker``:
``failed`` if it raises, ``timeout`` past ``step_timeout_s``, ``non_finite`` for NaN/inf losses or
state); a bad one is reported and discarded, and the trainer goes on from a fresh copy of the last
good snapshot. A good step's report carries the snapshot it published, so whoever records the
step can checkpoint exactly those weights (a loop session, with its ledger:
``engine/loop/writes.py``); a submitter's ``before_publish`` hook gets the report before the
snapshot is visible (a session's flush never commits a prediction of unrecorded weights). Given a
``CheckpointStore`` a trainer checkpoints on its own: every ``checkpoint_every`` good steps and on
``stop``. Given a ``TrainingRecorder`` it owns a run and records every applied step (sample ids,
losses, gradient norms, seed, state hashes) on its thread after the step's future is done, so
recording never delays a prediction, nor a synchronous submitter (``recording.py``).

Training threads run at a lower CPU priority (``foreground.lower_priority``, Linux) so that
when both want a core, the prediction of a closing candle goes first (``lower_priority=False``
keeps the caller's: a batch job or a synchronous replay, with no inference beside a step). Small
machines run torch on one thread (``torch.set_num_threads(1)``, see bench/bench_models.py).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import OperationalError, UserInputError
from ghostcandle.engine.training.checkpoints import CheckpointInfo, CheckpointStore, OnCheckpoint
from ghostcandle.engine.training.recording import TrainingRecorder
from ghostcandle.engine.training.step_facts import step_seed
from ghostcandle.engine.training.step_worker import (
    DROPPED,
    FAILED,
    OK,
    SKIPPED,
    TIMEOUT,
    StepRunner,
)
from ghostcandle.messaging.foreground import Foreground, lower_priority
from ghostcandle.models.base import Model, ModelInputs, ModelOutputs, TrainingBatch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """Published weights: a model copy that is never trained again, with its version."""

    model: Model
    step: int
    version: str
    published_at: int


@dataclass(frozen=True)
class StepReport:
    """What became of one submitted update; ``snapshot`` is what a good step published."""

    seq: int
    source: str
    status: str
    step: int
    version: str
    losses: Mapping[str, float] = field(default_factory=dict)
    duration_ms: float = 0.0
    error: str = ""
    finished_at: int = 0
    snapshot: Snapshot | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """Tell whether the step was applied and published."""
        return self.status == OK


@dataclass
class TrainerStats:
    """Counters of a trainer's life (read them for reports; only the trainer writes them)."""

    submitted: int = 0
    ok: int = 0
    failed: int = 0
    timeout: int = 0
    non_finite: int = 0
    dropped: int = 0
    skipped: int = 0
    checkpoints: int = 0
    checkpoint_errors: int = 0
    abandoned_threads: int = 0


OnReport = Callable[["StepReport"], None]
_Job = tuple[int, TrainingBatch, str, "Future[StepReport]", OnReport | None]
_STOP = object()


class Trainer:
    """Serialise all weight updates of one model on one thread; publish snapshots after each.

    The trainer owns ``model`` from now on: nothing else may train or load into it. If a
    ``CheckpointStore`` is given and ``resume`` is true, the newest complete checkpoint under
    ``checkpoint_key`` (default: the model's name) is loaded first.
    """

    def __init__(
        self,
        model: Model,
        *,
        clock: Clock,
        step_timeout_s: float = 30.0,
        queue_size: int = 256,
        checkpoints: CheckpointStore | None = None,
        checkpoint_key: str | None = None,
        checkpoint_every: int = 100,
        resume: bool = True,
        on_report: OnReport | None = None,
        on_checkpoint: OnCheckpoint | None = None,
        lower_priority: bool = True,
        recorder: TrainingRecorder | None = None,
        yield_to: Foreground | None = None,
    ) -> None:
        if step_timeout_s <= 0 or queue_size < 1 or checkpoint_every < 1:
            raise UserInputError(
                f"trainer needs step_timeout_s > 0, queue_size >= 1 and checkpoint_every >= 1 "
                f"(got {step_timeout_s}, {queue_size}, {checkpoint_every})"
            )
        self.clock = clock
        self.step_timeout_s = step_timeout_s
        self.checkpoints = checkpoints
        self.checkpoint_key = checkpoint_key or model.name
        self.checkpoint_every = checkpoint_every
        self.on_report = on_report
        self.on_checkpoint = on_checkpoint
        self.stats = TrainerStats()
        self.last_checkpoint: CheckpointInfo | None = None
        if checkpoints is not None and resume:
            found = checkpoints.load_latest(self.checkpoint_key)
            if found is not None:
                restore(model, found[1], found[0].path)
                self.last_checkpoint = found[0]
        #: records the run and its steps (None: steps are not recorded)
        self.recorder = recorder
        if recorder is not None:
            recorder.begin(model)
        self._work = model
        self._snapshot = self._publish(model.clone())
        self._checkpointed_step = model.step
        self._queue: queue.Queue[_Job | object] = queue.Queue(maxsize=queue_size)
        self._seq = 0
        self._seq_lock = threading.Lock()
        # updates submitted and not finished yet; ``flush`` waits on the condition for none
        self._unfinished = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self.lower_priority = lower_priority
        #: a step starts once this foreground (a live tick in flight) is quiet (None: at once)
        self.yield_to = yield_to
        self._steps = StepRunner(self.checkpoint_key, step_timeout_s, lower_priority=lower_priority)
        self._stopped = False
        self._to_record: Callable[[], None] | None = None  # the step published last

    # -- inference side: no locks, never waits --------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        """Return the last published snapshot (an atomic reference read)."""
        return self._snapshot

    def predict(self, inputs: ModelInputs) -> tuple[ModelOutputs, Snapshot]:
        """Predict on the last published weights; return the outputs and the snapshot used."""
        snap = self._snapshot
        return snap.model.predict(inputs), snap

    # -- writer side ----------------------------------------------------------------------
    def start(self) -> Trainer:
        """Start the trainer thread (idempotent); return self."""
        if self._stopped:
            raise OperationalError("trainer was stopped: create a new Trainer to train again")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name=f"trainer-{self.checkpoint_key}", daemon=True
            )
            self._thread.start()
        return self

    def submit(
        self,
        batch: TrainingBatch,
        *,
        source: str = "online",
        before_publish: OnReport | None = None,
    ) -> Future[StepReport]:
        """Queue one update; return a future of its report. Never blocks: a full queue drops.

        ``before_publish`` gets the step's report on the trainer's thread before its snapshot
        becomes visible to ``predict`` (and before the future completes; for a step that failed
        or was dropped, once its report exists): whoever must have recorded a step before any
        prediction can use its weights records it there (a loop session's step log).
        """
        if self._stopped or self._thread is None:
            raise OperationalError("trainer is not running: call start() before submit()")
        fut: Future[StepReport] = Future()
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
            self.stats.submitted += 1
        with self._idle:
            self._unfinished += 1
        try:
            self._queue.put_nowait((seq, batch, source, fut, before_publish))
        except queue.Full:
            self._done()
            report = self._report(seq, source, DROPPED, error="training queue is full")
            _call(before_publish, report)
            self._finish(fut, report)
        return fut

    @property
    def queued(self) -> int:
        """Return how many submitted updates wait for the trainer's thread (approximate)."""
        return self._queue.qsize()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every submitted update is done; return False if ``timeout_s`` passed."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout_s)

    def wait_for_room(self, ahead: int, timeout_s: float) -> bool:
        """Wait until fewer than ``ahead`` submitted updates are unfinished (running or queued);
        return False if ``timeout_s`` passed first. A producer that waits here before making
        its next batch hands the trainer fresh batches instead of filling its queue."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished < ahead, timeout_s)

    def _done(self) -> None:
        """Count one submitted update as finished (wakes ``flush`` and ``wait_for_room``)."""
        with self._idle:
            self._unfinished -= 1
            self._idle.notify_all()

    def stop(self, timeout_s: float | None = None) -> None:
        """Finish queued updates, stop the thread and checkpoint the last good state."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout_s)
        self._steps.close()
        if self.checkpoints is not None and self._snapshot.step != self._checkpointed_step:
            self._checkpoint()
        if self.recorder is not None:
            self.recorder.finish()

    def _loop(self) -> None:
        if self.lower_priority:
            lower_priority()  # publishing and checkpoints are training work too
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            job: _Job = item  # type: ignore[assignment]
            seq, batch, source, fut, before_publish = job
            if self.yield_to is not None:
                self.yield_to.yield_to()
            try:
                try:
                    report = self._run(seq, batch, source, before_publish)
                except Exception as exc:  # e.g. a model returning junk: report, keep serving
                    log.exception("training step %d failed outside the model", seq)
                    self._work = self._snapshot.model.clone()
                    report = self._report(seq, source, FAILED, error=f"{type(exc).__name__}: {exc}")
                    _call(before_publish, report)
                self._finish(fut, report)
                if (record := self._to_record) is not None:  # after the future: nobody waits
                    self._to_record = None
                    record()
                if (
                    report.ok
                    and self.checkpoints is not None
                    and report.step - self._checkpointed_step >= self.checkpoint_every
                ):
                    self._checkpoint()
            finally:
                self._done()

    def _run(
        self, seq: int, batch: TrainingBatch, source: str, before_publish: OnReport | None
    ) -> StepReport:
        work = self._work
        if not work.learns:
            report = self._report(seq, source, SKIPPED, error=f"{work.name} never learns")
            _call(before_publish, report)
            return report
        seed = step_seed(work) if self.recorder is not None else None
        out = self._steps.run(work, batch)
        if out.status == TIMEOUT:
            self.stats.abandoned_threads += 1
        if out.status != OK:  # the copy it changed is garbage: go on from the last good one
            self._work = self._snapshot.model.clone()
            report = self._report(
                seq, source, out.status, losses=out.losses, duration_ms=out.duration_ms,
                error=out.error,
            )  # fmt: skip
            _call(before_publish, report)
            return report
        snap = self._publish(work.clone())
        report = self._report(
            seq, source, OK, losses=out.losses, duration_ms=out.duration_ms, snapshot=snap
        )
        _call(before_publish, report)  # recorded before any prediction can use the weights
        self._snapshot = snap
        if self.recorder is not None:  # after publishing: predictions never wait for it
            self._to_record = partial(
                self.recorder.on_step, work, batch, source=source, losses=out.losses, seed=seed,
                duration_ms=out.duration_ms, at=snap.published_at,
            )  # fmt: skip
        return report

    def _publish(self, copy: Model) -> Snapshot:
        return Snapshot(
            model=copy, step=copy.step, version=copy.version, published_at=self.clock.now_ms()
        )

    def _checkpoint(self) -> CheckpointInfo | None:
        assert self.checkpoints is not None
        snap = self._snapshot
        try:
            info = self.checkpoints.save(
                self.checkpoint_key, snap.model.state_dict(), version=snap.version
            )
        except Exception:  # a full disk must not stop training; it is counted and logged
            self.stats.checkpoint_errors += 1
            log.exception("checkpoint of %s failed", self.checkpoint_key)
            return None
        self._checkpointed_step = snap.step
        self.last_checkpoint = info
        self.stats.checkpoints += 1
        if self.on_checkpoint is not None:
            try:
                self.on_checkpoint(info)
            except Exception:
                log.exception("on_checkpoint handler failed for %s", info.path)
        return info

    def _report(
        self,
        seq: int,
        source: str,
        status: str,
        *,
        losses: Mapping[str, float] | None = None,
        duration_ms: float = 0.0,
        error: str = "",
        snapshot: Snapshot | None = None,
    ) -> StepReport:
        snap = self._snapshot if snapshot is None else snapshot
        setattr(self.stats, status, getattr(self.stats, status) + 1)
        if status not in (OK, SKIPPED):
            log.warning(
                "training step %d (%s) of %s: %s: %s", seq, source, snap.version, status, error
            )
        return StepReport(
            seq=seq,
            source=source,
            status=status,
            step=snap.step,
            version=snap.version,
            losses=dict(losses or {}),
            duration_ms=duration_ms,
            error=error,
            finished_at=self.clock.now_ms(),
            snapshot=snap if status == OK else None,
        )

    def _finish(self, fut: Future[StepReport], report: StepReport) -> None:
        fut.set_result(report)
        if self.on_report is not None:
            try:
                self.on_report(report)
            except Exception:
                log.exception("on_report handler failed for step %d", report.seq)


def _call(hook: OnReport | None, report: StepReport) -> None:
    """Run a step's ``before_publish`` hook; a failing hook is logged, training goes on."""
    if hook is None:
        return
    try:
        hook(report)
    except Exception:
        log.exception("before_publish handler failed for step %d", report.seq)


def restore(model: Model, state: Mapping[str, Any], source: str) -> None:
    """Load a checkpointed ``state`` into ``model``; refuse, in one line, another config's."""
    try:
        model.load_state_dict(state)
    except ValueError as exc:
        raise UserInputError(
            f"checkpoint {source} was written by another model config "
            f"({exc}): use the same settings, another checkpoint key, or resume=False"
        ) from None

"""The one writer of a model's weights, and the published snapshots inference reads.

Every update of a model (per-candle online steps, manual requests, batch training on
annotations) is submitted to its ``Trainer``; one thread applies them one at a time, in order,
so no two updates ever interleave. Inference never touches the weights being trained: after
each good step the trainer publishes an immutable copy (a ``Snapshot``) by swapping one
reference, and ``predict`` runs on whatever snapshot is current. It takes no lock and never
waits for training.

A step is run on a worker thread and judged before anything is published:

- it raises -> ``failed``;
- it runs past ``step_timeout_s`` -> ``timeout`` (the worker is abandoned with the copy it was
  changing, which is never used again: Python cannot kill a thread, so the trainer forgets it);
- its losses or the resulting state hold NaN/inf -> ``non_finite``.

In each case the step is reported and discarded: the trainer goes on from a fresh copy of the
last good snapshot, so the model keeps its last good weights. A good step's report carries the
snapshot it published, so whoever records the step can checkpoint exactly those weights (a loop
session does, with its ledger: see ``engine/loop/writes.py``). A trainer given a
``CheckpointStore`` checkpoints on its own instead: every ``checkpoint_every`` good steps, and on
``stop``, the last good state is written atomically.

Training threads run at a lower CPU priority (``TRAINING_NICENESS``, Linux) so that when both
want a core, the prediction of a closing candle goes first (``lower_priority=False`` keeps
them at the caller's: a batch job with no inference beside it, such as an offline fit). On
small machines also run torch on one intra-op thread (``torch.set_num_threads(1)``): with two
cores, inference and a training step on more threads each only contend
(bench/bench_models.py).
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import torch

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import OperationalError, UserInputError
from ghostcandle.engine.training.checkpoints import CheckpointInfo, CheckpointStore, OnCheckpoint
from ghostcandle.models.base import Model, ModelInputs, ModelOutputs, TrainingBatch

log = logging.getLogger(__name__)

#: Report statuses: the step was applied and published, or why it was not.
OK, FAILED, TIMEOUT, NON_FINITE, DROPPED, SKIPPED = (
    "ok",
    "failed",
    "timeout",
    "non_finite",
    "dropped",
    "skipped",
)


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


_Job = tuple[int, TrainingBatch, str, "Future[StepReport]"]
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
        on_report: Callable[[StepReport], None] | None = None,
        on_checkpoint: OnCheckpoint | None = None,
        lower_priority: bool = True,
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
        self._work = model
        self._snapshot = self._publish(model.clone())
        self._checkpointed_step = model.step
        self._queue: queue.Queue[_Job | object] = queue.Queue(maxsize=queue_size)
        self._seq = 0
        self._seq_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.lower_priority = lower_priority
        self._worker = _StepWorker(self.checkpoint_key, lower_priority)
        self._stopped = False

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

    def submit(self, batch: TrainingBatch, *, source: str = "online") -> Future[StepReport]:
        """Queue one update; return a future of its report. Never blocks: a full queue drops."""
        if self._stopped or self._thread is None:
            raise OperationalError("trainer is not running: call start() before submit()")
        fut: Future[StepReport] = Future()
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
            self.stats.submitted += 1
        try:
            self._queue.put_nowait((seq, batch, source, fut))
        except queue.Full:
            self._finish(fut, self._report(seq, source, DROPPED, error="training queue is full"))
        return fut

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until every submitted update is done; return False if ``timeout_s`` passed."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        return True

    def stop(self, timeout_s: float | None = None) -> None:
        """Finish queued updates, stop the thread and checkpoint the last good state."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout_s)
        self._worker.abandon()
        if self.checkpoints is not None and self._snapshot.step != self._checkpointed_step:
            self._checkpoint()

    def checkpoint_now(self) -> CheckpointInfo | None:
        """Write the last good state now (from the caller's thread; snapshots are immutable)."""
        return self._checkpoint() if self.checkpoints is not None else None

    def _loop(self) -> None:
        if self.lower_priority:
            _lower_priority()  # publishing and checkpoints are training work too
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                job: _Job = item  # type: ignore[assignment]
                seq, batch, source, fut = job
                try:
                    report = self._run(seq, batch, source)
                except Exception as exc:  # e.g. a model returning junk: report, keep serving
                    log.exception("training step %d failed outside the model", seq)
                    self._work = self._snapshot.model.clone()
                    report = self._report(seq, source, FAILED, error=f"{type(exc).__name__}: {exc}")
                self._finish(fut, report)
                if (
                    report.ok
                    and self.checkpoints is not None
                    and report.step - self._checkpointed_step >= self.checkpoint_every
                ):
                    self._checkpoint()
            finally:
                self._queue.task_done()

    def _run(self, seq: int, batch: TrainingBatch, source: str) -> StepReport:
        work = self._work
        if not work.learns:
            return self._report(seq, source, SKIPPED, error=f"{work.name} never learns")
        t0 = time.perf_counter()
        finished, box = self._worker.run(work, batch, self.step_timeout_s)
        ms = (time.perf_counter() - t0) * 1000.0
        if not finished:
            self.stats.abandoned_threads += 1
            self._worker.abandon()
            self._worker = _StepWorker(self.checkpoint_key, self.lower_priority)
            self._work = self._snapshot.model.clone()
            return self._report(
                seq,
                source,
                TIMEOUT,
                duration_ms=ms,
                error=f"step ran past {self.step_timeout_s}s and was abandoned",
            )
        if "error" in box:
            self._work = self._snapshot.model.clone()
            exc = box["error"]
            return self._report(
                seq, source, FAILED, duration_ms=ms, error=f"{type(exc).__name__}: {exc}"
            )
        losses = {str(k): float(v) for k, v in box["losses"].items()}
        if not all(math.isfinite(v) for v in losses.values()) or not _model_finite(work):
            self._work = self._snapshot.model.clone()
            return self._report(
                seq,
                source,
                NON_FINITE,
                losses=losses,
                duration_ms=ms,
                error="step produced NaN/inf losses or weights",
            )
        self._snapshot = self._publish(work.clone())
        return self._report(seq, source, OK, losses=losses, duration_ms=ms)

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
    ) -> StepReport:
        snap = self._snapshot
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


def restore(model: Model, state: Mapping[str, Any], source: str) -> None:
    """Load a checkpointed ``state`` into ``model``; refuse, in one line, another config's."""
    try:
        model.load_state_dict(state)
    except ValueError as exc:
        raise UserInputError(
            f"checkpoint {source} was written by another model config "
            f"({exc}): use the same settings, another checkpoint key, or resume=False"
        ) from None


class _StepWorker:
    """One thread that runs training steps, so that a step can be waited on with a timeout.

    A worker whose step hangs is abandoned (Python cannot kill a thread): it is told to exit
    once its step returns, and a new worker takes over.
    """

    def __init__(self, name: str, lower_priority: bool = True) -> None:
        self._lower = lower_priority
        self._jobs: queue.SimpleQueue[
            tuple[Model, TrainingBatch, dict[str, Any], threading.Event] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=f"train-step-{name}", daemon=True)
        self._thread.start()

    def run(
        self, model: Model, batch: TrainingBatch, timeout_s: float
    ) -> tuple[bool, dict[str, Any]]:
        """Run ``model.train_step(batch)``; return whether it finished in time and its result."""
        box: dict[str, Any] = {}
        done = threading.Event()
        self._jobs.put((model, batch, box, done))
        return done.wait(timeout_s), box

    def abandon(self) -> None:
        """Let the thread exit after its current step (if any)."""
        self._jobs.put(None)

    def _loop(self) -> None:
        if self._lower:
            _lower_priority()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            model, batch, box, done = job
            try:
                box["losses"] = model.train_step(batch)
            except BaseException as exc:  # the model's failure is reported, not propagated
                box["error"] = exc
            finally:
                done.set()


#: How much nicer (Linux scheduler) training threads run than inference: when both want the
#: CPU, the prediction of a closing candle goes first.
TRAINING_NICENESS = 10


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux threads have their own nice value)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + TRAINING_NICENESS
        )
    except (AttributeError, OSError):  # not Linux, or not permitted: run at normal priority
        pass


def _model_finite(model: Model) -> bool:
    """Tell whether a model's weights and optimiser state are all finite.

    A torch model's live tensors (``net`` and ``optimizer``) are checked in place, in one pass
    over their concatenation; ``state_dict()`` would copy them all first (the copy cost more
    than the training step). Any other model is checked through its ``state_dict()``.
    """
    net, opt = getattr(model, "net", None), getattr(model, "optimizer", None)
    if not isinstance(net, torch.nn.Module) or not isinstance(opt, torch.optim.Optimizer):
        return _state_finite(model.state_dict())
    tensors = [t for t in (*net.parameters(), *net.buffers()) if t.is_floating_point()]
    for state in opt.state.values():
        tensors.extend(
            v for v in state.values() if isinstance(v, torch.Tensor) and v.is_floating_point()
        )
    if not tensors:
        return True
    with torch.no_grad():
        flat = torch.cat([t.detach().reshape(-1).float() for t in tensors])
        return bool(torch.isfinite(flat).all())


def _state_finite(obj: Any) -> bool:
    """Tell whether every floating tensor and float inside a state is finite."""
    if isinstance(obj, torch.Tensor):
        return not obj.is_floating_point() or bool(torch.isfinite(obj).all())
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, Mapping):
        return all(_state_finite(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return all(_state_finite(v) for v in obj)
    return True

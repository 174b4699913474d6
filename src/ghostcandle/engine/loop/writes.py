"""A session's writes: one flush as a job (rows, progress and checkpoint together); step records.

A session's durable progress is its committed ``loop_sessions`` row: the last event handled,
the counts, and the checkpoint holding exactly the good steps whose records are committed with
it. A flush that carries good steps carries the snapshot the last of them published
(``CheckpointDue``); the writer saves it (``prepare``, before the transaction) and the job
records it in the row in the same transaction as the step records. A crash between the file
and the commit leaves a newer file that no row references, which resume ignores.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import duckdb

from ghostcandle.domain.frames import FrameRef
from ghostcandle.engine.training.checkpoints import CheckpointInfo, CheckpointStore
from ghostcandle.engine.training.trainer import Snapshot, StepReport
from ghostcandle.store.frames import FrameStore, frame_row
from ghostcandle.store.predictions import PredictionLedger, PredictionRecord
from ghostcandle.store.sessions import SessionStore, TrainingStepRecord


@dataclass(frozen=True)
class SessionStores:
    """The stores a session writes through (stateless: any session's serve a merged job)."""

    frames: FrameStore
    ledger: PredictionLedger
    sessions: SessionStore


@dataclass(frozen=True)
class Progress:
    """A session's progress marker: the last event handled, and its counts."""

    session_id: str
    progress_time: int | None
    events: int
    train_steps: int
    now: int


@dataclass(frozen=True)
class CheckpointDue:
    """Weights to checkpoint before a flush commits: the last good step's snapshot.

    ``saved`` receives the checkpoint once written (the job that commits it reads it back). It
    may be written while earlier jobs commit, so it is held from pruning until ``release``.
    """

    session_id: str
    store: CheckpointStore
    key: str
    snapshot: Snapshot
    saved: list[CheckpointInfo] = field(default_factory=list, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def save(self) -> CheckpointInfo:
        """Write the snapshot's state once (atomic; from any thread); return its checkpoint."""
        with self._lock:
            if not self.saved:
                snap = self.snapshot
                self.saved.append(
                    self.store.save(
                        self.key, snap.model.state_dict(), version=snap.version, hold=True
                    )
                )
            return self.saved[0]

    def release(self) -> None:
        """Let pruning see the checkpoint again (its job is committed, or failed)."""
        with self._lock:
            for info in self.saved:
                self.store.release(info)


class JobPart(Protocol):
    """More rows a flush commits with its own (a session's kept training samples)."""

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the rows inside the job's open transaction."""
        ...

    def committed(self) -> None:
        """Hear that the job's transaction committed."""
        ...


@dataclass(frozen=True)
class SessionWrite:
    """What a session hands the ``LedgerWriter`` at a flush; call it inside a transaction.

    The progress marker travels with the rows and step records it covers, and with the
    checkpoint of those steps, so the database never holds one without the others. Jobs queued
    together ``merge`` into one: a few statements per transaction, however many sessions and
    events it covers, and one checkpoint per session (the newest).
    """

    stores: SessionStores
    #: frames and the timeframe each predicted; turned into rows on the writer's thread
    frames: Sequence[tuple[FrameRef, str]]
    new: Sequence[PredictionRecord]
    outcomes: Sequence[PredictionRecord]
    steps: Sequence[TrainingStepRecord]
    progress: Sequence[Progress]
    checkpoints: Sequence[CheckpointDue] = ()
    #: the training samples of the job's steps (``sample_keeping.KeptSamples``)
    parts: Sequence[JobPart] = ()

    def prepare(self) -> None:
        """Save the checkpoints this job references (before its transaction; idempotent)."""
        for due in self.checkpoints:
            due.save()

    def has_files(self) -> bool:
        """Tell whether the job carries a checkpoint to save."""
        return bool(self.checkpoints)

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write everything inside the open transaction ``con`` (``prepare`` first if not done).

        New rows go in before outcomes, so an outcome may follow its row in the same job.
        """
        self.prepare()
        saved = {due.session_id: due.saved[0] for due in self.checkpoints}
        self.stores.frames.register_in(con, [frame_row(ref, tf) for ref, tf in self.frames])
        for part in self.parts:
            part(con)
        self.stores.ledger.insert_in(con, self.new)
        self.stores.ledger.outcome_in(con, self.outcomes)
        self.stores.sessions.log_steps_in(con, self.steps)
        for p in self.progress:
            self.stores.sessions.progress_in(
                con,
                p.session_id,
                progress_time=p.progress_time,
                events=p.events,
                train_steps=p.train_steps,
                now=p.now,
                checkpoint=None if p.session_id not in saved else saved[p.session_id].name,
                checkpoint_step=None if p.session_id not in saved else saved[p.session_id].step,
            )

    def merge(self, later: Sequence[SessionWrite]) -> SessionWrite:
        """Return one job writing this one and ``later`` (in order; the last progress wins).

        Only the newest checkpoint of each session is kept: the progress that wins covers its
        steps (a later job without good steps has the same count).
        """
        jobs = [self, *later]
        last = {p.session_id: p for job in jobs for p in job.progress}
        newest = {due.session_id: due for job in jobs for due in job.checkpoints}
        return SessionWrite(
            self.stores,
            [f for job in jobs for f in job.frames],
            [r for job in jobs for r in job.new],
            [r for job in jobs for r in job.outcomes],
            [st for job in jobs for st in job.steps],
            list(last.values()),
            list(newest.values()),
            [p for job in jobs for p in job.parts],
        )


class StepsTaken(NamedTuple):
    """What a flush takes from the step log."""

    records: list[TrainingStepRecord]
    #: good steps over the session's life (restarts included)
    train_steps: int
    #: the snapshot of the newest good step among ``records`` (None: no good step)
    snapshot: Snapshot | None
    #: the training samples kept for these steps and since (taken after the records)
    samples: JobPart | None = None


class StepLog:
    """Training-step records, filled from the trainer's thread, taken at each flush."""

    def __init__(self, session_id: str, model: str, train_steps: int = 0) -> None:
        self.session_id, self.model = session_id, model
        #: good steps over the session's life (restarts included)
        self.train_steps = train_steps
        self._steps: list[TrainingStepRecord] = []
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def record(self, report: StepReport, at: int, reason: str, frame_ids: tuple[str, ...]) -> None:
        """Keep the record of one finished step (good or not)."""
        rec = TrainingStepRecord(
            self.session_id,
            self.model,
            report.step,
            at,
            reason,
            frame_ids,
            report.losses.get("loss"),
            report.status,
        )
        with self._lock:
            if report.ok:
                self.train_steps += 1
                snap = report.snapshot
                if snap is not None and (self._snapshot is None or snap.step > self._snapshot.step):
                    self._snapshot = snap
            self._steps.append(rec)

    def take(self) -> StepsTaken:
        """Return the records since the last call, the good steps so far, and their weights."""
        with self._lock:
            taken = StepsTaken(self._steps, self.train_steps, self._snapshot)
            self._steps, self._snapshot = [], None
            return taken

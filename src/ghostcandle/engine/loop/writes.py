"""A session's writes: one flush as a job (rows and progress marker together); step records."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from ghostcandle.domain.frames import FrameRef
from ghostcandle.engine.training.trainer import StepReport
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
class SessionWrite:
    """What a session hands the ``LedgerWriter`` at a flush; call it inside a transaction.

    The progress marker travels with the rows it covers, so the database never holds one
    without the other. Jobs queued together ``merge`` into one: a few statements per
    transaction, however many sessions and events it covers.
    """

    stores: SessionStores
    #: frames and the timeframe each predicted; turned into rows on the writer's thread
    frames: Sequence[tuple[FrameRef, str]]
    new: Sequence[PredictionRecord]
    outcomes: Sequence[PredictionRecord]
    steps: Sequence[TrainingStepRecord]
    progress: Sequence[Progress]

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write everything inside the open transaction ``con``.

        New rows go in before outcomes, so an outcome may follow its row in the same job.
        """
        self.stores.frames.register_in(con, [frame_row(ref, tf) for ref, tf in self.frames])
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
            )

    def merge(self, later: Sequence[SessionWrite]) -> SessionWrite:
        """Return one job writing this one and ``later`` (in order; the last progress wins)."""
        jobs = [self, *later]
        last = {p.session_id: p for job in jobs for p in job.progress}
        return SessionWrite(
            self.stores,
            [f for job in jobs for f in job.frames],
            [r for job in jobs for r in job.new],
            [r for job in jobs for r in job.outcomes],
            [st for job in jobs for st in job.steps],
            list(last.values()),
        )


class StepLog:
    """Training-step records, filled from the trainer's thread, taken at each flush."""

    def __init__(self, session_id: str, model: str, train_steps: int = 0) -> None:
        self.session_id, self.model = session_id, model
        #: good steps over the session's life (restarts included)
        self.train_steps = train_steps
        self._steps: list[TrainingStepRecord] = []
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
            self._steps.append(rec)

    def take(self) -> tuple[list[TrainingStepRecord], int]:
        """Return the records since the last call, and the good steps so far."""
        with self._lock:
            steps, self._steps = self._steps, []
            return steps, self.train_steps

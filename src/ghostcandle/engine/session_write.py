"""A session's writes: one flush as a job (rows and progress marker together); step records."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from ghostcandle.engine.trainer import StepReport
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import PredictionLedger, PredictionRecord
from ghostcandle.store.sessions import SessionStore, TrainingStepRecord


@dataclass(frozen=True)
class SessionWrite:
    """What a session hands the ``LedgerWriter`` at a flush; call it inside a transaction.

    The progress marker travels with the rows it covers, so the database never holds one
    without the other.
    """

    session_id: str
    frames: Sequence[tuple[object, ...]]
    new: Sequence[PredictionRecord]
    outcomes: Sequence[PredictionRecord]
    steps: Sequence[TrainingStepRecord]
    progress_time: int | None
    events: int
    train_steps: int
    now: int

    def write(
        self,
        con: duckdb.DuckDBPyConnection,
        frames: FrameStore,
        ledger: PredictionLedger,
        sessions: SessionStore,
    ) -> None:
        """Write everything inside the open transaction ``con``."""
        frames.register_in(con, self.frames)
        ledger.insert_in(con, self.new)
        ledger.outcome_in(con, self.outcomes)
        sessions.log_steps_in(con, self.steps)
        sessions.progress_in(
            con,
            self.session_id,
            progress_time=self.progress_time,
            events=self.events,
            train_steps=self.train_steps,
            now=self.now,
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

"""Loop sessions: configuration, progress and checkpoint, so a restarted process can resume.

Progress (``progress_time``: the close time of the last event fully handled) is written in the
same transaction as the predictions and training-step records it produced, and with the
checkpoint that holds exactly those steps (``checkpoint_path``: its name relative to the
checkpoint directory), so after a crash the ledger, the steps, the weights and the progress
marker always agree.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.session_state import LIVE_STATES, SessionState
from ghostcandle.store.db import Database
from ghostcandle.store.training_runs import TrainingRunStore

#: The stored status is the session's state (``domain.session_state``).
STARTING, RUNNING, STOPPED, FINISHED, FAILED = (
    SessionState.STARTING,
    SessionState.RUNNING,
    SessionState.STOPPED,
    SessionState.FINISHED,
    SessionState.FAILED,
)


@dataclass(frozen=True)
class SessionRow:
    """What is stored about one session."""

    session_id: str
    kind: str
    config: Mapping[str, Any]
    status: str
    created_at: int
    updated_at: int
    progress_time: int | None
    events: int
    train_steps: int
    checkpoint_path: str | None
    checkpoint_step: int | None
    summary: Mapping[str, Any] | None
    #: the learning model's step when the session started (0: fresh weights)
    start_step: int = 0


@dataclass(frozen=True, slots=True)
class TrainingStepRecord:
    """One weight update (or a discarded attempt), pointing at the frames it used."""

    session_id: str
    model: str
    step: int
    at: int
    reason: str
    frame_ids: tuple[str, ...]
    loss: float | None
    status: str


log = logging.getLogger(__name__)

#: the databases this process has already swept for dead sessions and runs (``interrupt_dead``)
_SWEPT: weakref.WeakSet[Database] = weakref.WeakSet()

_COLS = (
    "session_id, kind, config, status, created_at, updated_at, progress_time, events, "
    "train_steps, checkpoint_path, checkpoint_step, summary, start_step"
)


class SessionStore:
    """Read and write ``loop_sessions`` and ``training_steps``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._select: str | None = None

    def _columns(self, cur: duckdb.DuckDBPyConnection) -> str:
        """Return the columns to read; a database opened read-only may predate ``start_step``."""
        if self._select is None:
            found = cur.execute(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_name = 'loop_sessions' AND column_name = 'start_step'"
            ).fetchone()
            self._select = _COLS if found and found[0] else _COLS.replace("start_step", "0")
        return self._select

    def create(
        self,
        session_id: str,
        kind: str,
        config: Mapping[str, Any],
        now: int,
        *,
        checkpoint: str | None = None,
        start_step: int = 0,
        status: SessionState = RUNNING,
    ) -> None:
        """Register a new session in ``status``, starting from ``checkpoint`` if given."""
        with self.db.transaction() as con:
            con.execute(
                f"INSERT INTO loop_sessions ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, NULL, 0, 0, "
                "?, ?, NULL, ?)",
                [
                    session_id,
                    kind,
                    json.dumps(dict(config), sort_keys=True),
                    SessionState(status).value,
                    now,
                    now,
                    checkpoint,
                    None if checkpoint is None else start_step,
                    start_step,
                ],
            )

    def get(self, session_id: str) -> SessionRow | None:
        """Return the session, or None if it was never created."""
        with self.db.cursor() as cur:
            row = cur.execute(
                f"SELECT {self._columns(cur)} FROM loop_sessions WHERE session_id = ?",
                [session_id],
            ).fetchone()
        return None if row is None else _row(row)

    def require(self, session_id: str) -> SessionRow:
        """Return the session or raise a one-line ``DataMissingError``."""
        found = self.get(session_id)
        if found is None:
            raise DataMissingError(
                f"no session {session_id!r} is stored: list sessions with `ghostcandle evaluate`"
            )
        return found

    def all(self) -> list[SessionRow]:
        """Return every session, oldest first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {self._columns(cur)} FROM loop_sessions ORDER BY created_at"
            ).fetchall()
        return [_row(r) for r in rows]

    def progress_in(
        self,
        con: duckdb.DuckDBPyConnection,
        session_id: str,
        *,
        progress_time: int | None,
        events: int,
        train_steps: int,
        now: int,
        checkpoint: str | None = None,
        checkpoint_step: int | None = None,
    ) -> None:
        """Record progress inside an open transaction (with the predictions it produced).

        ``checkpoint`` (a name relative to the checkpoint directory) holds the weights after
        exactly ``train_steps`` good steps; None leaves the recorded one (no new good step).
        """
        if checkpoint is None:
            con.execute(
                "UPDATE loop_sessions SET progress_time = ?, events = ?, train_steps = ?, "
                "updated_at = ? WHERE session_id = ?",
                [progress_time, events, train_steps, now, session_id],
            )
            return
        con.execute(
            "UPDATE loop_sessions SET progress_time = ?, events = ?, train_steps = ?, "
            "updated_at = ?, checkpoint_path = ?, checkpoint_step = ? WHERE session_id = ?",
            [progress_time, events, train_steps, now, checkpoint, checkpoint_step, session_id],
        )

    def set_status(
        self,
        session_id: str,
        status: SessionState,
        now: int,
        summary: Mapping[str, Any] | None = None,
    ) -> None:
        """Set the status (and the summary, if given)."""
        status = SessionState(status)
        with self.db.transaction() as con:
            if summary is None:
                con.execute(
                    "UPDATE loop_sessions SET status = ?, updated_at = ? WHERE session_id = ?",
                    [status.value, now, session_id],
                )
            else:
                con.execute(
                    "UPDATE loop_sessions SET status = ?, updated_at = ?, summary = ? "
                    "WHERE session_id = ?",
                    [status.value, now, json.dumps(dict(summary), default=str), session_id],
                )

    def mark_interrupted(self, keep: Sequence[str] = ()) -> list[str]:
        """Set ``interrupted`` on every row left ``starting``/``running``/``stopping``; return
        their ids, oldest first.

        Only for the process that has just opened the database for writing, before its own
        sessions start: DuckDB lets one process write a file, so such a row is from a process
        that died. ``keep`` names rows never to touch. ``updated_at`` keeps the dead process's
        last write.
        """
        with self.db.transaction() as con:
            rows = con.execute(
                "UPDATE loop_sessions SET status = $to WHERE status IN (SELECT unnest($live)) "
                "AND session_id NOT IN (SELECT unnest($keep)) RETURNING session_id, created_at",
                {
                    "to": SessionState.INTERRUPTED.value,
                    "live": sorted(s.value for s in LIVE_STATES),
                    "keep": list(keep),
                },
            ).fetchall()
        return [str(r[0]) for r in sorted(rows, key=lambda r: (r[1], r[0]))]

    def set_checkpoint(self, session_id: str, path: str, step: int, now: int) -> None:
        """Record a checkpoint of the session's learning model (outside its progress)."""
        with self.db.transaction() as con:
            con.execute(
                "UPDATE loop_sessions SET checkpoint_path = ?, checkpoint_step = ?, "
                "updated_at = ? WHERE session_id = ?",
                [path, step, now, session_id],
            )

    def log_steps_in(
        self, con: duckdb.DuckDBPyConnection, steps: Sequence[TrainingStepRecord]
    ) -> None:
        """Append training-step records inside an open transaction."""
        if not steps:
            return
        con.executemany(
            "INSERT INTO training_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    s.session_id,
                    s.model,
                    s.step,
                    s.at,
                    s.reason,
                    ",".join(s.frame_ids),
                    s.loss,
                    s.status,
                ]
                for s in steps
            ],
        )

    def steps(self, session_id: str) -> list[TrainingStepRecord]:
        """Return the training-step records of a session, in order."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT session_id, model, step, at_time, reason, frame_ids, loss, status "
                "FROM training_steps WHERE session_id = ? ORDER BY at_time, step",
                [session_id],
            ).fetchall()
        return [
            TrainingStepRecord(
                str(r[0]),
                str(r[1]),
                int(r[2]),
                int(r[3]),
                str(r[4]),
                tuple(x for x in str(r[5]).split(",") if x),
                None if r[6] is None else float(r[6]),
                str(r[7]),
            )
            for r in rows
        ]


def _row(r: Sequence[Any]) -> SessionRow:
    return SessionRow(
        session_id=str(r[0]),
        kind=str(r[1]),
        config=json.loads(r[2]),
        status=str(r[3]),
        created_at=int(r[4]),
        updated_at=int(r[5]),
        progress_time=None if r[6] is None else int(r[6]),
        events=int(r[7]),
        train_steps=int(r[8]),
        checkpoint_path=None if r[9] is None else str(r[9]),
        checkpoint_step=None if r[10] is None else int(r[10]),
        summary=None if r[11] is None else json.loads(r[11]),
        start_step=0 if r[12] is None else int(r[12]),
    )


def interrupt_dead(db: Database) -> list[str]:
    """Mark what a dead process left live ``interrupted``, once per opened ``db``.

    Sessions left ``starting``/``running``/``stopping`` and training runs left ``running``.
    Called where a writer starts (the runtime of ``serve``, a session's first open, a training
    run's begin), before any session or run of this process exists; later calls on the same
    ``db`` do nothing, so nothing of this process is ever marked. A read-only ``db`` is left
    alone. Returns the marked session ids.
    """
    if db.read_only or db in _SWEPT:
        return []
    _SWEPT.add(db)
    ids = SessionStore(db).mark_interrupted()
    if ids:
        log.warning(
            "%d session(s) were left running by a process that ended without stopping them, "
            "now marked interrupted (resume one by starting it with the same id): %s",
            len(ids), ", ".join(ids),
        )  # fmt: skip
    runs = TrainingRunStore(db).mark_interrupted()
    if runs:
        log.warning(
            "%d training run(s) were left running by a process that ended, now marked "
            "interrupted: %s", len(runs), ", ".join(runs),
        )  # fmt: skip
    return ids

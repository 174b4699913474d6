"""A session's durable side: its committed progress, and what changed since the last flush.

The committed session row is the session's one durable progress (events, good steps and the
checkpoint holding exactly those steps). ``resume`` reads it back: the model loads the
checkpoint the row references (none: fresh seeded weights, or the seed of its series for a new
session, see ``seed_checkpoint``; other files are ignored). Between flushes the ledger rows that
changed, the new frames and the progress are held here; ``flush`` hands them, with the step
records and the weights of the last good step, as one job to the ``LedgerWriter``
(``engine/loop/writes.py``), which saves the checkpoint and commits the rest, with a reference
to it, in one transaction. The handler does not wait for the commit: ``wait`` does.

The counts of predictions per status are kept here too, committed or not, so that reading them
never needs a flush.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, OperationalError
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.session_state import SessionState
from ghostcandle.engine.loop.ledger_writer import LedgerWriter
from ghostcandle.engine.loop.writes import (
    CheckpointDue,
    Progress,
    SessionStores,
    SessionWrite,
    StepsTaken,
)
from ghostcandle.engine.training.checkpoints import CheckpointInfo, CheckpointStore
from ghostcandle.engine.training.trainer import Snapshot, restore
from ghostcandle.messaging.foreground import Foreground
from ghostcandle.models.base import Model
from ghostcandle.store.db import Database
from ghostcandle.store.predictions import PENDING, PredictionRecord
from ghostcandle.store.sessions import interrupt_dead

log = logging.getLogger(__name__)


class SessionWrites:
    """Hold one session's changes between flushes and hand them to the writer as one job."""

    def __init__(
        self,
        db: Database,
        stores: SessionStores,
        checkpoints: CheckpointStore,
        session_id: str,
        clock: Clock,
        *,
        writer: LedgerWriter | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        """Prepare; ``writer`` may be shared by the sessions of one database (None: own one).

        ``foreground`` (the bus's) is held from handing a job to the writer until it is
        committed, so that training yields to the tick until it is stored.
        """
        self.db, self.stores, self.checkpoints = db, stores, checkpoints
        self.session_id, self.clock = session_id, clock
        #: the checkpoint the committed session row references (None: fresh weights)
        self.checkpoint: CheckpointInfo | None = None
        #: candle events handled over the session's life, and the close time of the last one
        self.events = 0
        self.last_time: int | None = None
        self._since_flush = 0
        self._dirty: dict[str, PredictionRecord] = {}
        # ids stored while pending: their outcome is an UPDATE, anything else an INSERT
        self._stored: set[str] = set()
        self._new_frames: list[tuple[FrameRef, str]] = []
        # predictions per status, committed or not (None until opened: read the ledger)
        self._counts: dict[str, int] | None = None
        self._writer = writer
        self._own_writer = writer is None
        self._ticket = 0
        self._errors: list[str] = []
        self._foreground = foreground if foreground is not None else Foreground()
        # good steps' checkpoints saved ahead of the flushes that will carry them, by step
        self._early: dict[int, CheckpointDue] = {}
        self._early_lock = threading.Lock()

    # -- resume ---------------------------------------------------------------------------------
    def resume(self, model: Model, kind: str, config: Mapping[str, Any], now: int) -> int:
        """Load the weights of the committed progress (or the series' seed) into ``model``.

        A new session's row is created (``starting``). Return the good steps so far.
        """
        key, sessions = self.session_id, self.stores.sessions
        interrupt_dead(self.db)  # the first session of this process: earlier ones are dead
        row = sessions.get(key)
        train_steps = 0
        if row is None:
            seed = self.checkpoints.seed(key)
            if seed is not None:
                restore(model, self.checkpoints.load(seed), seed.path)
                self.checkpoint = seed
            sessions.create(
                key,
                kind,
                config,
                now,
                checkpoint=None if seed is None else seed.name,
                start_step=0 if seed is None else seed.step,
                status=SessionState.STARTING,
            )
        else:
            if row.checkpoint_path is not None:
                info = self.checkpoints.find(key, row.checkpoint_path)
                if info is None:
                    raise DataMissingError(
                        f"checkpoint {row.checkpoint_path} of session {key} is missing or "
                        f"damaged in {self.checkpoints.directory}: put it back, or start a "
                        "new session id"
                    )
                restore(model, self.checkpoints.load(info), info.path)
                self.checkpoint = info
            self.events, self.last_time = row.events, row.progress_time
            train_steps = row.train_steps
        self.checkpoints.pin(key, None if self.checkpoint is None else self.checkpoint.name)
        return train_steps

    def open(self, pending: Sequence[PredictionRecord]) -> None:
        """Start writing: the writer (unless shared), the stored ``pending`` rows, the counts."""
        if self._writer is None:
            self._writer = LedgerWriter(self.db)
        self._stored = {r.prediction_id for r in pending}
        self._counts = self.stores.ledger.counts(self.session_id)

    # -- changes --------------------------------------------------------------------------------
    def mark(self, rec: PredictionRecord) -> None:
        """Keep ``rec`` for the next flush; count it under its new status.

        The ledger's ``get`` sees it from now on (a live flush waits for the end of the tick,
        and the UI bridge pushes the prediction before that), until its row is committed.
        """
        self.stores.ledger.hold((rec,))
        pid = rec.prediction_id
        before = self._dirty.get(pid)
        was = before.status if before is not None else PENDING if pid in self._stored else None
        if self._counts is not None:
            if was is not None:
                self._counts[was] -= 1
            self._counts[rec.status] = self._counts.get(rec.status, 0) + 1
        self._dirty[pid] = rec

    def frame(self, ref: FrameRef, timeframe: str) -> None:
        """Keep a new frame (the one a prediction of ``timeframe`` was made from)."""
        self._new_frames.append((ref, timeframe))

    def due(self, t: int, flush_every: int) -> bool:
        """Tell whether ``flush_every`` events are held and one of a new tick (``t``) comes."""
        return (
            self.last_time is not None and t > self.last_time and self._since_flush >= flush_every
        )

    @property
    def held(self) -> int:
        """Return how many events were handled since the last flush."""
        return self._since_flush

    def handled(self, t: int) -> None:
        """Count one event handled, closing at ``t`` (the progress the next flush records)."""
        self.events += 1
        self._since_flush += 1
        self.last_time = t

    def counts(self) -> dict[str, int]:
        """Return the predictions per status, committed or not (only reads)."""
        held = self._counts
        return self.stores.ledger.counts(self.session_id) if held is None else dict(held)

    # -- flush ----------------------------------------------------------------------------------
    def flush(self, steps: StepsTaken) -> None:
        """Hand what changed, ``steps`` and the progress to the writer (do not wait).

        Without a writer (not opened, or closed) the job is written here and now. Raise
        ``OperationalError`` if an earlier job failed.
        """
        self._raise_errors()
        sid = self.session_id
        due = self._due(steps.snapshot)
        new: list[PredictionRecord] = []
        outcomes: list[PredictionRecord] = []
        for rec in self._dirty.values():
            (outcomes if rec.prediction_id in self._stored else new).append(rec)
        frames = self._new_frames
        self._dirty, self._new_frames = {}, []
        progress = Progress(
            sid, self.last_time, self.events, steps.train_steps, self.clock.now_ms()
        )
        write = SessionWrite(
            self.stores,
            frames,
            new,
            outcomes,
            steps.records,
            [progress],
            [] if due is None else [due],
            [] if steps.samples is None else [steps.samples],
        )
        changed = new + outcomes
        if self._writer is None:
            write.prepare()
            with self.db.transaction() as con:
                write(con)
            self.stores.ledger.release(changed)
            self._committed(due, write)
        else:  # ``mark`` held every changed row already: ``written`` releases them
            fg = self._foreground

            def written() -> None:
                try:
                    self.stores.ledger.release(changed)
                    self._committed(due, write)
                finally:
                    fg.leave()

            def failed(exc: BaseException) -> None:
                try:
                    if due is not None:
                        due.release()
                    self._on_error(exc)
                finally:
                    fg.leave()

            fg.enter()
            try:
                self._ticket = self._writer.submit(write, on_error=failed, on_written=written)
            except BaseException:
                fg.leave()
                raise
        self._since_flush = 0
        for rec in new:
            if rec.status == PENDING:
                self._stored.add(rec.prediction_id)
        for rec in outcomes:
            self._stored.discard(rec.prediction_id)

    def presave(self, snap: Snapshot) -> None:
        """Save ``snap``, a good step's weights, before a flush carries it (background thread).

        The trainer calls it before the step is recorded and its weights can predict, so the
        flush that carries the step finds the file written and synced: a tick's commit never
        waits for a checkpoint. It yields to the foreground first (a tick in flight). A failure
        is logged; the flush saves it again. A checkpoint no flush took (a newer one went
        first) is released to pruning.
        """
        with self._early_lock:
            if any(s >= snap.step for s in self._early):
                return
            self._early[snap.step] = due = CheckpointDue(
                self.session_id, self.checkpoints, self.session_id, snap
            )
        self._foreground.yield_to()
        try:
            due.save()
        except Exception:
            log.exception("saving checkpoint of session %s ahead of its flush failed", due.key)

    def _due(self, snap: Snapshot | None) -> CheckpointDue | None:
        """Return the checkpoint a flush carries for ``snap`` (the one saved early if it is)."""
        if snap is None:
            return None
        with self._early_lock:
            taken = [self._early.pop(s) for s in [s for s in self._early if s <= snap.step]]
        early = next((due for due in taken if due.snapshot is snap), None)
        for old in taken:  # the others no flush will take: this one carries a newer step
            if old is not early:
                old.release()
        if early is not None:
            return early
        return CheckpointDue(self.session_id, self.checkpoints, self.session_id, snap)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait until everything handed to the writer so far is committed.

        Return False if ``timeout_s`` passed first; raise ``OperationalError`` if a write failed.
        """
        done = True if self._writer is None else self._writer.wait(self._ticket, timeout_s)
        self._raise_errors()
        return done

    def close(self) -> None:
        """Close the writer if it is the session's own (what is queued is written first).

        The checkpoints saved ahead (one a good step) are let go and the series pruned: what
        is left is the ``keep`` newest and the one the committed row references.
        """
        with self._early_lock:
            early, self._early = list(self._early.values()), {}
        for due in early:  # saved ahead of a flush that never came
            due.release()
        self.checkpoints.prune(self.session_id)
        if self._own_writer and self._writer is not None:
            self._writer.close()
            self._writer = None

    def _committed(self, due: CheckpointDue | None, write: SessionWrite) -> None:
        """Note the checkpoint a committed job referenced: resume point, never pruned."""
        if due is not None and due.saved:
            self.checkpoint = due.saved[0]
            self.checkpoints.pin(self.session_id, self.checkpoint.name)
        if due is not None:
            due.release()  # pinned now, or merged away by a newer one of the same job
        for part in write.parts:
            part.committed()

    def _on_error(self, exc: BaseException) -> None:
        self._errors.append(f"{type(exc).__name__}: {exc}")

    def _raise_errors(self) -> None:
        if self._errors:
            first, self._errors = self._errors[0], []
            raise OperationalError(
                f"writing the ledger of session {self.session_id} failed ({first}): "
                "stop the session and check the database file (disk full? another process?)"
            )

"""Record a trainer's run and every step it applies, from the trainer's own thread.

A ``Trainer`` given a ``TrainingRecorder`` owns a run (``training_runs``): ``begin`` stores its
row (the model, its config, the batch source, the state it starts from and that state's hash);
after each applied step the trainer hands the recorder the model it just changed, and the
recorder reads the step's facts (``step_facts``), hashes the new state and keeps a
``StepRecord``; every ``flush_every`` steps, and when the trainer stops, the records and the
run's row (curves, convergence, value) are written in one transaction. All of it runs on the
trainer's thread (or the caller's, for ``validation``): never on a predicting thread. A failure
to record is logged and counted; training goes on.

The sample ids and the batch references come from the batch itself (``source_refs``, set by
whoever built it): ``ids`` and ``id_kind`` become the record's columns, the rest is what a
replay rebuilds the batch from. A run that resumes (a session restarted from its checkpoint)
keeps its row and forgets the records past the step it resumes from: it redoes those steps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ghostcandle.domain.clock import Clock
from ghostcandle.engine.training.run_curves import Curve, convergence, value_per_1k
from ghostcandle.engine.training.step_facts import state_hash, step_facts
from ghostcandle.models.base import Model, TrainingBatch
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import interrupt_dead
from ghostcandle.store.step_records import FRAME, StepRecord, StepRecordStore
from ghostcandle.store.training_runs import (
    FAILED,
    FINISHED,
    RUNNING,
    SESSION,
    RunRow,
    TrainingRunStore,
)

log = logging.getLogger(__name__)

#: Steps kept in memory before they are written.
FLUSH_EVERY = 32


@dataclass(frozen=True)
class RunSpec:
    """What a run is: its id and kind, and where its batches come from (plain JSON)."""

    run_id: str
    kind: str
    source: Mapping[str, Any] = field(default_factory=dict)
    checkpoint_key: str | None = None
    #: a session's steps are scored before they learn (progressive validation): each step's
    #: loss is also a validation point
    progressive: bool = False


class TrainingRecorder:
    """Keep a run's row and step records; write them in batches (see the module doc)."""

    def __init__(
        self, db: Database, spec: RunSpec, clock: Clock, *, flush_every: int = FLUSH_EVERY
    ) -> None:
        self.db, self.spec, self.clock = db, spec, clock
        self.flush_every = max(1, flush_every)
        self.steps = StepRecordStore(db)
        self.runs = TrainingRunStore(db)
        #: records written, and failures to record (logged)
        self.written = 0
        self.errors = 0
        self._row: RunRow | None = None
        self._pending: list[StepRecord] = []
        self._hash = ""
        self._train = Curve()
        self._val = Curve()
        self._summary: dict[str, Any] = {}
        self._failed = ""
        self._lock = threading.Lock()

    @property
    def run_id(self) -> str:
        """Return the run's id."""
        return self.spec.run_id

    def begin(self, model: Model) -> None:
        """Store the run's row (or resume it) from the state ``model`` starts in."""
        self._hash = state_hash(model)
        now = self.clock.now_ms()
        interrupt_dead(self.db)  # this process's first run: a dead one's rows say so first
        old = self.runs.get(self.spec.run_id)
        if old is not None:  # a resumed run keeps its start, curves and count so far
            self._train, self._val = Curve(initial=old.train_curve), Curve(initial=old.val_curve)
            row = replace(old, status=RUNNING, ended_at=None, steps=model.step - old.start_step)
        else:
            row = RunRow(
                run_id=self.spec.run_id,
                kind=self.spec.kind,
                model=model.name,
                model_config=model.config(),
                source=dict(self.spec.source),
                checkpoint_key=self.spec.checkpoint_key,
                status=RUNNING,
                started_at=now,
                ended_at=None,
                start_step=model.step,
                start_hash=self._hash,
                steps=0,
            )
        self._row = row
        with self.db.transaction() as con:
            self.steps.forget_after_in(con, self.spec.run_id, model.step)
            self.runs.save_in(con, row)

    def on_step(
        self,
        model: Model,
        batch: TrainingBatch,
        *,
        source: str,
        losses: Mapping[str, float],
        seed: int | None,
        duration_ms: float,
        at: int | None = None,
    ) -> None:
        """Record the step that just brought ``model`` to its current state (trainer thread).

        ``at``: when the step was applied (default: now).
        """
        try:
            after = state_hash(model)
            facts = step_facts(model, seed)
            refs = dict(batch.source_refs or {})
            ids = tuple(str(i) for i in refs.pop("ids", ()))
            kind = str(refs.pop("id_kind", FRAME))
            rec = StepRecord(
                run_id=self.spec.run_id,
                step=model.step,
                at=self.clock.now_ms() if at is None else at,
                source=str(source),
                id_kind=kind,
                sample_ids=ids,
                batch_refs=refs,
                losses=dict(losses),
                grad_norms=dict(facts.grad_norms),
                learning_rate=facts.learning_rate,
                seed=facts.seed,
                torch_threads=facts.torch_threads,
                deterministic=facts.deterministic,
                hash_before=self._hash,
                hash_after=after,
                duration_ms=duration_ms,
            )
            self._hash = after
            loss = float(losses.get("loss", float("nan")))
            with self._lock:
                self._pending.append(rec)
                self._train.add(rec.step, loss)
                if self.spec.progressive:
                    self._val.add(rec.step, loss)
                due = len(self._pending) >= self.flush_every
            if due:
                self.flush()
        except Exception:  # recording must never stop training
            self.errors += 1
            log.exception("recording step of run %s failed", self.spec.run_id)

    def validation(self, step: int, loss: float) -> None:
        """Add a validation point (e.g. an offline epoch's validation loss)."""
        with self._lock:
            self._val.add(step, float(loss))

    def note(self, **summary: Any) -> None:
        """Add plain JSON values to the run's summary (written at the next flush)."""
        with self._lock:
            self._summary.update(summary)

    def fail(self, error: str) -> None:
        """Mark the run failed with ``error`` (written when it finishes)."""
        self._failed = error

    def flush(self, *, ended: bool = False) -> None:
        """Write the pending records and the run's row in one transaction."""
        if self._row is None:
            return
        with self._lock:
            records, self._pending = self._pending, []
            train, val = self._train.pairs(), self._val.pairs()
            summary = {**dict(self._row.summary), **self._summary}
        last_step = records[-1].step if records else self._row.start_step + self._row.steps
        steps = max(self._row.steps, last_step - self._row.start_step)
        status = self._row.status
        if ended:
            status = FAILED if self._failed else FINISHED
            if self._failed:
                summary["error"] = self._failed
        row = replace(
            self._row,
            status=status,
            ended_at=self.clock.now_ms() if ended else None,
            steps=steps,
            train_curve=train,
            val_curve=val,
            convergence=convergence(val or train),
            value_per_1k=value_per_1k(val or train, steps),
            summary=summary,
        )
        try:
            with self.db.transaction() as con:
                self.steps.insert_in(con, records)
                self.runs.save_in(con, row)
        except Exception:
            self.errors += 1
            log.exception("writing %d step records of run %s failed", len(records), self.run_id)
            return
        self._row = row
        self.written += len(records)

    def finish(self) -> None:
        """Write what is left and close the run (finished, or failed if ``fail`` was called)."""
        self.flush(ended=True)


def session_recorder(db: Database, session_id: str, clock: Clock) -> TrainingRecorder | None:
    """Return the recorder of a session's online training (None on a read-only database).

    The run is the session (same id, resumed with it); its batches are frame references
    (``build_batch``), its checkpoints those the session's flushes write under its id, and its
    validation curve the loss of each batch before the step learns from it.
    """
    if db.read_only:
        return None
    spec = RunSpec(session_id, SESSION, {"kind": "frames"}, session_id, progressive=True)
    return TrainingRecorder(db, spec, clock)

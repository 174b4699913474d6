"""A trainer's recorder runs after the step's future is done, and records the step's own time.

A synchronous submitter (a backtest) waits for each step's future before its next prediction;
recording the step (state hashes, a batched write) must not be part of that wait, and the record
must still say when the step was applied, not when the recorder got to it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.training.recording import RunSpec, TrainingRecorder
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database
from ghostcandle.store.step_records import StepRecordStore

from .conftest import SMALL, make_batch


class GatedRecorder(TrainingRecorder):
    """A real recorder that holds each step until ``gate`` opens (fault injection: a slow one)."""

    gate = threading.Event()

    def on_step(self, *args: Any, **kwargs: Any) -> None:
        GatedRecorder.gate.wait(30)
        super().on_step(*args, **kwargs)


def test_the_step_future_is_done_before_recording_and_the_record_keeps_its_time(
    tmp_path: Path,
) -> None:
    clock = ReplayClock(1_700_000_000_000)
    with Database(tmp_path / "rec.duckdb") as db:
        recorder = GatedRecorder(db, RunSpec("run-1", "session"), clock, flush_every=1)
        model = create_model("cnn", seed=1, **SMALL)
        trainer = Trainer(model, clock=clock, recorder=recorder).start()
        try:
            _, batch = make_batch(trainer.snapshot.model, seed=2)
            report = trainer.submit(batch).result(10)  # returns while the recorder is held
            assert report.ok
            applied = clock.now_ms()
            assert report.snapshot is not None
            assert report.snapshot.published_at == applied
            clock.advance_to(applied + 60_000)  # the submitter goes on
            GatedRecorder.gate.set()
            assert trainer.flush(10)
        finally:
            GatedRecorder.gate.set()
            trainer.stop(10)
        records = StepRecordStore(db).for_run("run-1")
        assert [r.step for r in records] == [1]
        assert records[0].at == applied

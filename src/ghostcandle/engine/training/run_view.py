"""One training run as ``train show`` and ``/api/training-runs/{id}`` present it."""

from __future__ import annotations

from typing import Any

from ghostcandle.store.db import Database
from ghostcandle.store.step_records import StepRecordStore
from ghostcandle.store.training_runs import TrainingRunStore

#: Newest steps listed with a run.
SHOWN_STEPS = 10


def run_detail(db: Database, run_id: str, *, shown_steps: int = SHOWN_STEPS) -> dict[str, Any]:
    """Return the run with its curves, its samples' validated outcomes and its newest steps.

    Raise ``DataMissingError`` (one line) for an unknown run.
    """
    runs = TrainingRunStore(db)
    run = runs.require(run_id)
    steps = StepRecordStore(db)
    newest = run.start_step + run.steps
    return {
        **run.to_json(),
        "samples": runs.sample_value(run.run_id).to_json(),
        "recorded_steps": steps.count(run.run_id),
        "last_steps": [
            s.to_json() for s in steps.for_run(run.run_id, after=max(-1, newest - shown_steps))
        ],
    }

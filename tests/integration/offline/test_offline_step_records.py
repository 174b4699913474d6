"""An offline fit is a recorded training run: its steps replay, its curves and value are kept.

A real fit through ``OfflineTrainingService`` on seeded candles; ``ghostcandle train list``,
``show`` and ``replay-step`` run as subprocesses against the same database file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ghostcandle.domain.clock import LiveClock
from ghostcandle.engine.offline.service import OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.trainer import FitSettings
from ghostcandle.store.db import Database
from ghostcandle.store.step_records import StepRecordStore
from ghostcandle.store.training_runs import TrainingRunStore

from .conftest import OfflineData

EPOCHS = 2


def _cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "train", *args, "--db", str(db)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)


def test_a_fit_records_its_run_and_its_steps_replay(offline: OfflineData) -> None:
    with Database(offline.path) as db:
        done = OfflineTrainingService(db, LiveClock()).train(
            OfflineRequest(
                model="cnn",
                symbol=offline.symbol,
                timeframes=["1m", "1h"],
                start=offline.start,
                end=offline.end,
                model_config=offline.small["cnn"],
                settings=FitSettings(epochs=EPOCHS, batch_size=512, patience=5),
                name="fit-steps",
            )
        )
        run = TrainingRunStore(db).require(done.record.run_id)  # the offline_runs id
        records = StepRecordStore(db).for_run(run.run_id)
        trained = {
            str(r[0]) for r in db.con.execute("SELECT sample_id FROM training_samples").fetchall()
        }
        value = TrainingRunStore(db).sample_value(run.run_id)
    assert run.kind == "offline"
    assert run.status == "finished"
    assert run.steps == len(records) > EPOCHS
    assert run.source["kind"] == "decisions"
    # one validation point per epoch, at the step the epoch ended on
    assert [v for _, v in run.val_curve] == [e.val_loss for e in done.fit.epochs]
    assert run.convergence in ("improving", "plateau", "diverging", "unknown")
    # every id a step names is a recorded training sample of the fit
    assert all(r.id_kind == "sample" for r in records)
    assert set().union(*(r.sample_ids for r in records)) <= trained
    assert value.samples == len({i for r in records for i in r.sample_ids})
    assert value.validated > 0
    assert value.mean_profitability is not None
    assert 0.0 <= value.mean_profitability <= 1.0

    got = _cli(offline.path, "replay-step", records[2].step_id, "--json")
    assert got.returncode == 0, got.stdout + got.stderr
    proof = json.loads(got.stdout)
    assert proof["hash_after"] == records[2].hash_after
    assert proof["replayed"] == 3

    listed = _cli(offline.path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["run_id"] for r in json.loads(listed.stdout)] == [run.run_id]
    shown = _cli(offline.path, "show", run.run_id)
    assert shown.returncode == 0, shown.stderr
    assert f"run {run.run_id} (offline, cnn)" in shown.stdout
    assert records[-1].step_id in shown.stdout
    old = _cli(offline.path, "--list")  # the offline runs' own list still answers
    assert old.returncode == 0, old.stderr
    assert run.run_id in old.stdout
    missing = _cli(offline.path, "show", "fit-000000000000")
    assert missing.returncode == 2
    assert "no training run" in missing.stderr

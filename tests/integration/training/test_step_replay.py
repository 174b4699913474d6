"""Recorded training steps replay exactly, in another process, for every learning family.

Real DuckDB files, real torch training, ``ghostcandle train replay-step`` as a subprocess (a
fresh interpreter: the proof cannot lean on anything left in memory). A session's online
training (``build_batch`` from stored frames, the trainer with the session's recorder and
checkpoints) and an annotation training are recorded and replayed; a weight changed in a
checkpoint, or a candle changed under a frame, makes the replay fail with one line, exit 1.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.engine.offline.dataset import load_dataset
from ghostcandle.engine.training.annotation_training import train_on_annotations
from ghostcandle.engine.training.batches import build_batch
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.engine.training.policy import TrainingSample
from ghostcandle.engine.training.recording import session_recorder
from ghostcandle.engine.training.series_cache import SeriesCache
from ghostcandle.engine.training.step_facts import state_hash
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.models.registry import create_model
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore, frame_row
from ghostcandle.store.step_records import StepRecordStore
from ghostcandle.store.training_runs import TrainingRunStore

FAMILIES = ("transformer", "cnn", "excursion_mlp")
SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
WINDOW = 24
STEPS = 6
#: the session checkpoints after this many steps (as a flush would)
CHECKPOINT_AT = 3


def _replay(db_path: Path, step_id: str, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "train", "replay-step", step_id,
           "--db", str(db_path), *extra]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)


def _store_candles(db: Database, n: int = 400) -> None:
    df = synthetic_candles(n, "1m", start_ms=T0, seed=7)
    CandleStore(db).write(SYMBOL, "1m", df, provenance=CandleSource.FILE)


def _session_run(db_path: Path, family: str, session_id: str) -> None:
    """Train ``STEPS`` online steps the way a session does, checkpointing once on the way."""
    clock = LiveClock()
    with Database(db_path) as db:
        _store_candles(db)
        candles = CandleStore(db)
        frames = FrameStore(db, candles)
        model = create_model(family, timeframes=["1m"], windows={"1m": WINDOW}, seed=3)
        data = load_dataset(candles, SYMBOL, ["1m"], {"1m": WINDOW}, T0 + 40 * M, T0 + 300 * M)
        refs = data.frames(np.arange(8 * STEPS, dtype=np.int64), session_id, model.version)
        with db.transaction() as con:
            frames.register_in(con, [frame_row(r, "1m") for r in refs])
        trainer = Trainer(
            model,
            clock=clock,
            checkpoint_key=session_id,
            recorder=session_recorder(db, session_id, clock),
        ).start()
        store = CheckpointStore(checkpoint_dir_for(db_path), clock, keep=3)
        cache = SeriesCache(candles)
        labels = data.labels.tolist()
        for k in range(STEPS):
            samples = [
                TrainingSample(r, "1m", int(labels[i]), TrainingSource.CANDLE)
                for i, r in enumerate(refs[8 * k : 8 * k + 8], start=8 * k)
            ]
            now = int(refs[8 * k + 7].target_time or 0)
            built = build_batch(frames, samples, model.windows, model.timeframes, now, cache)
            assert built is not None
            assert built.dropped == 0
            report = trainer.submit(built.batch, source=TrainingSource.CANDLE).result()
            assert report.ok, report.error
            if report.step == CHECKPOINT_AT:
                snap = trainer.snapshot
                store.save(session_id, snap.model.state_dict(), version=snap.version)
        trainer.stop(timeout_s=60)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_sessions_step_replays_to_its_recorded_hash(tmp_path: Path, family: str) -> None:
    db_path = tmp_path / "g.duckdb"
    _session_run(db_path, family, f"sess-{family}")
    with Database(db_path) as db:
        run = TrainingRunStore(db).require(f"sess-{family}")
        records = StepRecordStore(db).for_run(run.run_id)
    assert run.kind == "session"
    assert run.status == "finished"
    assert run.steps == STEPS
    assert [r.step for r in records] == list(range(1, STEPS + 1))
    for before, after in itertools.pairwise(records):
        assert after.hash_before == before.hash_after  # one unbroken chain
    last = records[-1]
    assert last.id_kind == "frame"
    assert len(last.sample_ids) == 8
    assert set(last.losses) >= {"loss", "candle.1m", "action"}
    assert last.grad_norms
    assert all(v >= 0 for v in last.grad_norms.values())
    assert last.learning_rate is not None
    assert last.learning_rate > 0
    assert last.seed is not None

    got = _replay(db_path, last.step_id, "--json")
    assert got.returncode == 0, got.stdout + got.stderr
    proof = json.loads(got.stdout)
    assert proof["reproduced"]
    assert proof["hash_after"] == last.hash_after
    # it started from the session's checkpoint, not from scratch
    assert f"step {CHECKPOINT_AT}" in proof["start"]
    assert proof["replayed"] == STEPS - CHECKPOINT_AT
    assert proof["losses"]["loss"] == pytest.approx(last.losses["loss"], abs=0, rel=0)

    early = _replay(db_path, f"sess-{family}:2")  # before the checkpoint: from the start
    assert early.returncode == 0, early.stdout + early.stderr
    assert "from the initial weights" in early.stdout
    assert len(early.stdout.splitlines()) == 1


def test_a_changed_weight_in_the_checkpoint_fails_the_replay(tmp_path: Path) -> None:
    db_path = tmp_path / "g.duckdb"
    _session_run(db_path, "cnn", "sess-w")
    store = CheckpointStore(checkpoint_dir_for(db_path), LiveClock())
    info = next(i for i in store.list("sess-w") if i.step == CHECKPOINT_AT)
    state = store.load(info)
    name = next(iter(state["weights"]))
    state["weights"][name] = state["weights"][name] + 1e-6
    # a careful forgery: the file and its sidecar agree (size and sha256 rewritten)
    path = Path(info.path)
    torch.save(state, path)
    data = path.read_bytes()
    side = json.loads(path.with_suffix(".json").read_text())
    side.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    path.with_suffix(".json").write_text(json.dumps(side))

    got = _replay(db_path, f"sess-w:{STEPS}")
    assert got.returncode == 1, got.stdout + got.stderr
    assert len(got.stdout.strip().splitlines()) == 1
    assert "NOT reproduced" in got.stdout
    assert "state before it hashes" in got.stdout
    assert "Traceback" not in got.stderr


def test_a_changed_candle_fails_the_replay(tmp_path: Path) -> None:
    db_path = tmp_path / "g.duckdb"
    _session_run(db_path, "excursion_mlp", "sess-c")
    with Database(db_path) as db:
        last = StepRecordStore(db).for_run("sess-c")[-1]
        frame = FrameStore(db, CandleStore(db)).get(last.sample_ids[0])
        end = frame.windows[0].end_open_time
        db.con.execute(
            "UPDATE candles SET close = close * 1.001 WHERE symbol = ? AND open_time = ?",
            [SYMBOL, end],
        )
    got = _replay(db_path, last.step_id)
    assert got.returncode == 1, got.stdout + got.stderr
    assert len(got.stdout.strip().splitlines()) == 1
    assert "changed or are gone" in got.stdout
    assert "Traceback" not in got.stderr


def test_an_unknown_step_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db_path = tmp_path / "g.duckdb"
    Database(db_path).close()
    for bad in ("nope:3", "no-colon"):
        got = _replay(db_path, bad)
        assert got.returncode == 2
        assert len(got.stderr.strip().splitlines()) == 1
        assert "Traceback" not in got.stderr


@pytest.mark.parametrize("family", FAMILIES)
def test_an_annotation_trainings_steps_replay(tmp_path: Path, family: str) -> None:
    db_path = tmp_path / "g.duckdb"
    clock = LiveClock()
    with Database(db_path) as db:
        _store_candles(db, 600)
        store = AnnotationStore(db, CandleStore(db), tmp_path / "cases", clock)
        for e, x, d in ((150, 170, "LONG"), (210, 240, "SHORT"), (300, 320, "LONG")):
            store.create(SYMBOL, "1m", T0 + e * M, T0 + x * M, direction=d)
        result = train_on_annotations(db, store, family, 3, store.list(), clock=clock)
        assert result.run_id is not None
        records = StepRecordStore(db).for_run(result.run_id)
        fresh = create_model(family, **TrainingRunStore(db).require(result.run_id).model_config)
    assert records[0].hash_before == state_hash(fresh)
    assert records[-1].id_kind == "sample"
    assert len(records[-1].sample_ids) == 3
    got = _replay(db_path, records[-1].step_id, "--store-gradients")
    assert got.returncode == 0, got.stdout + got.stderr
    assert got.stdout.count("\n") == 1
    assert "reproduced" in got.stdout
    grads = torch.load(
        db_path.with_name(db_path.name + ".gradients") / f"{result.run_id}-3.pt", weights_only=True
    )
    assert grads
    assert all(torch.isfinite(g).all() for g in grads.values())

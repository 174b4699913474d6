"""A flush's checkpoint goes with its commit: saved first, referenced by the row, never alone."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.loop.ledger_writer import LedgerWriter
from ghostcandle.engine.loop.writes import CheckpointDue, Progress, SessionStores, SessionWrite
from ghostcandle.engine.training.checkpoints import CheckpointStore
from ghostcandle.engine.training.trainer import Snapshot, Trainer
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import PredictionLedger
from ghostcandle.store.sessions import SessionStore, TrainingStepRecord

from .conftest import SMALL, make_batch


def _snapshots(n: int) -> list[Snapshot]:
    """Return the snapshots ``n`` good steps of a real trainer published, as its reports say."""
    trainer = Trainer(create_model("cnn", **SMALL), clock=ReplayClock(0)).start()
    _, batch = make_batch(trainer.snapshot.model, seed=3)
    try:
        reports = [trainer.submit(batch).result(30) for _ in range(n)]
    finally:
        trainer.stop(5)
    snaps = [r.snapshot for r in reports]
    assert all(s is not None for s in snaps)
    return [s for s in snaps if s is not None]


def _write(stores: SessionStores, step: int, due: CheckpointDue) -> SessionWrite:
    rec = TrainingStepRecord("s", "cnn", step, step * 60_000, "candle", (), 0.1, "ok")
    return SessionWrite(
        stores, [], [], [], [rec], [Progress("s", step * 60_000, step, step, 1)], [due]
    )


def _stores(db: Database) -> SessionStores:
    stores = SessionStores(FrameStore(db), PredictionLedger(db), SessionStore(db))
    stores.sessions.create("s", "replay", {"model": "cnn"}, 0)
    return stores


def test_checkpoints_are_written_while_the_writer_is_busy_and_the_newest_is_referenced(
    db: Database, tmp_path: Path
) -> None:
    stores, store = _stores(db), CheckpointStore(tmp_path / "ckpt", ReplayClock(0), keep=3)
    one, two = _snapshots(2)
    writer = LedgerWriter(db)
    entered, release = threading.Event(), threading.Event()

    def gate(con: duckdb.DuckDBPyConnection) -> None:  # holds the writer while both queue
        entered.set()
        release.wait(30)

    writer.submit(gate)
    assert entered.wait(10)
    dues = [CheckpointDue("s", store, "s", snap) for snap in (one, two)]
    for step, due in zip((1, 2), dues, strict=True):
        writer.submit(_write(stores, step, due))
    # both files are written while the writer is still inside the gate's transaction
    deadline = time.monotonic() + 20
    while not all(d.saved for d in dues) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [i.step for d in dues for i in d.saved] == [1, 2]
    assert writer.written == 0
    assert stores.sessions.require("s").checkpoint_path is None
    release.set()
    assert writer.wait(timeout_s=30)
    writer.close()
    assert writer.stats.commits == 2  # the gate, then both flushes in one transaction
    row = stores.sessions.require("s")
    assert (row.train_steps, row.checkpoint_path, row.checkpoint_step) == (
        2,
        "s/s-0000000002.pt",
        2,
    )
    assert store.find("s", "s/s-0000000002.pt") is not None


def test_a_held_checkpoint_survives_pruning_until_released(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "ckpt", ReplayClock(0), keep=2)
    state = create_model("cnn", **SMALL).state_dict()

    def save(step: int, *, hold: bool = False) -> str:
        return store.save("s", {**state, "step": step}, hold=hold).name

    held = save(1, hold=True)  # written ahead of the commit that will reference it
    for step in range(2, 6):
        save(step)
    assert [i.step for i in store.list("s")] == [1, 4, 5]
    info = store.find("s", held)
    assert info is not None
    store.release(info)
    save(6)
    assert [i.step for i in store.list("s")] == [5, 6]


def test_a_checkpoint_that_cannot_be_written_commits_nothing_of_its_flush(
    db: Database, tmp_path: Path
) -> None:
    stores = _stores(db)
    blocked = tmp_path / "ckpt"
    blocked.write_text("a file where the checkpoint directory should be")
    (snap,) = _snapshots(1)
    errors: list[BaseException] = []
    writer = LedgerWriter(db)
    due = CheckpointDue("s", CheckpointStore(blocked, ReplayClock(0)), "s", snap)
    writer.submit(_write(stores, 1, due), on_error=errors.append)
    assert writer.wait(timeout_s=30)
    writer.close()
    assert len(errors) == 1
    row = stores.sessions.require("s")
    assert (row.events, row.train_steps, row.checkpoint_path) == (0, 0, None)
    assert stores.sessions.steps("s") == []

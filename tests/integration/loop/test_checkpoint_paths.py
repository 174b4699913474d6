"""Checkpoints belong to their database: named relative to its checkpoint directory.

A copy of a database directory resumes from its own checkpoints and never touches the
original's; a relative ``--db`` resumes the right step from any working directory; old
sidecars that recorded a path still load; the checkpoint a session's row references is never
pruned.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.timeframes import MINUTE_MS, format_time
from ghostcandle.engine.evaluation.session_audit import audit_session
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore

from .conftest import START, SYM, fill

SESSION = "paths"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _replay(db: str, minutes: int, cwd: Path) -> dict[str, object]:
    """Run (or resume) the session over ``minutes`` from START with ``--db db`` in ``cwd``."""
    cmd = [
        sys.executable, "-m", "ghostcandle.cli.main", "replay", "--db", db,
        "--symbol", SYM, "--from", format_time(START),
        "--to", format_time(START + minutes * MINUTE_MS), "--model", "cnn",
        "--mode", "every_candle", "--timeframes", "1m,1h", "--window", "1m=20",
        "--window", "1h=6", "--seed", "1", "--session", SESSION, "--flush-every", "10",
        "--checkpoint-every", "5", "--no-pivots", "--json",
    ]  # fmt: skip
    done = subprocess.run(
        cmd, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def _files(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _good_steps(db_path: Path) -> list[int]:
    with Database(db_path, read_only=True) as db:
        assert audit_session(db, SESSION).ok
        return [s.step for s in SessionStore(db).steps(SESSION) if s.status == "ok"]


def _assert_resumed(first: dict[str, object], then: dict[str, object], steps: list[int]) -> None:
    """The second run went on from the first: no event again, no step number again."""
    assert then["events_total"] == then["events"] + first["events_total"]  # type: ignore[operator]
    assert first["train_steps"] < then["train_steps"]  # type: ignore[operator]
    assert steps == list(range(1, len(steps) + 1))
    assert len(steps) == then["train_steps"]


@pytest.fixture
def market_dir(tmp_path: Path) -> Path:
    """Return a directory holding ``m.duckdb`` with two days of synthetic ETH/USDT."""
    d = tmp_path / "orig"
    d.mkdir()
    with Database(d / "m.duckdb") as db:
        fill(db)
    return d


def test_copied_database_resumes_from_its_own_and_spares_the_original(
    market_dir: Path, tmp_path: Path
) -> None:
    first = _replay(str(market_dir / "m.duckdb"), 25, tmp_path)
    ckpts = checkpoint_dir_for(market_dir / "m.duckdb")
    assert ckpts.is_dir()
    copy = tmp_path / "copy"
    shutil.copytree(market_dir, copy)
    before = _files(market_dir)
    then = _replay(str(copy / "m.duckdb"), 50, tmp_path)
    assert _files(market_dir) == before  # not one file of the original written or deleted
    _assert_resumed(first, then, _good_steps(copy / "m.duckdb"))
    # the copy's row names its own newest checkpoint, which lies in the copy
    with Database(copy / "m.duckdb", read_only=True) as db:
        row = SessionStore(db).require(SESSION)
    assert row.checkpoint_path is not None
    assert not Path(row.checkpoint_path).is_absolute()
    assert (checkpoint_dir_for(copy / "m.duckdb") / row.checkpoint_path).is_file()
    assert row.checkpoint_step == then["train_steps"]


def test_relative_db_resumes_the_right_step_from_another_directory(
    market_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    first = _replay("orig/m.duckdb", 25, tmp_path)
    then = _replay("../../orig/m.duckdb", 50, elsewhere)
    _assert_resumed(first, then, _good_steps(market_dir / "m.duckdb"))


def test_old_sidecar_with_a_path_loads_by_file_name(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "a.checkpoints", ReplayClock(0))
    info = store.save("k", {"family": "x", "step": 3})
    side = Path(info.path).with_suffix(".json")
    data = json.loads(side.read_text())
    del data["name"]
    data["path"] = "/somewhere/else/a.checkpoints/k/k-0000000003.pt"  # as written by then
    side.write_text(json.dumps(data))
    moved = tmp_path / "b.checkpoints"
    shutil.move(tmp_path / "a.checkpoints", moved)
    found = CheckpointStore(moved, ReplayClock(0)).find("k", data["path"])
    assert found is not None
    assert found.name == "k/k-0000000003.pt"
    assert Path(found.path) == moved / "k" / "k-0000000003.pt"
    assert CheckpointStore(moved, ReplayClock(0)).load(found)["step"] == 3


def test_pinned_checkpoint_survives_pruning(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, ReplayClock(0), keep=2)
    committed = store.save("k", {"family": "x", "step": 1})
    store.pin("k", committed.name)
    for step in (9, 8, 7, 2, 3):  # stray newer files of a crashed run, then new progress
        store.save("k", {"family": "x", "step": step})
    assert [i.step for i in store.list("k")] == [1, 3, 9]
    assert store.find("k", committed.name) == committed

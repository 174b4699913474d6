"""A session whose process was SIGKILLed reads ``interrupted`` once a new writer opens the file.

A training ``replay`` is killed while its session runs (its row still says ``running``: no
process can say otherwise after a kill -9); the next process to open the database for writing
(here the runtime ``serve`` builds) marks it ``interrupted``, ``ghostcandle status`` lists it so,
and the same replay started again resumes it from its stored progress and finishes it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ghostcandle.domain.clock import LiveClock, ReplayClock
from ghostcandle.engine.runtime import Runtime
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for
from ghostcandle.engine.training.recording import RunSpec, TrainingRecorder
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore, interrupt_dead
from ghostcandle.store.training_runs import RunRow, TrainingRunStore

from ..loop.conftest import fill
from ..models.conftest import SMALL
from .kill import ENV, cli, finish, query
from .test_kill_battery import replay_cmd

STATUS = "SELECT status FROM loop_sessions WHERE session_id = 's'"
RUN = "SELECT status FROM training_runs WHERE run_id = 's'"  # the session's online training


def _kill_once_checkpointed(cmd: list[str], db: Path, timeout_s: float = 240) -> None:
    """Start ``cmd``; SIGKILL it as soon as its session has saved a checkpoint (it runs)."""
    ckpt = checkpoint_dir_for(db)
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt.is_dir() and any(ckpt.rglob("*.pt")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the replay ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()


@pytest.mark.timeout(400)
def test_a_killed_session_reads_interrupted_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    with Database(db) as con:
        fill(con)
    cmd = replay_cmd(db, "s", 90, "--flush-every", "1", "--checkpoint-every", "5")
    _kill_once_checkpointed(cmd, db)
    assert query(db, STATUS) == [("running",)]  # what a dead process leaves
    assert query(db, RUN) == [("running",)]

    with Database(db) as con:  # the writer serve opens: its runtime sweeps the file
        Runtime(con, LiveClock()).close()
    assert query(db, STATUS) == [("interrupted",)]
    assert query(db, RUN) == [("interrupted",)]
    shown = finish(cli("status", "--db", str(db), "--json"))
    assert shown.returncode == 0, shown.stderr
    assert [s["status"] for s in json.loads(shown.stdout)["sessions"]] == ["interrupted"]
    table = finish(cli("status", "--db", str(db)))
    assert "interrupted" in table.stdout

    done = finish(cmd)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert 0 < summary["events"] < summary["events_total"]  # it went on from where it died
    assert query(db, STATUS) == [("finished",)]
    assert query(db, RUN) == [("finished",)]
    audit = finish(cli("audit", "session", "--db", str(db), "--session", "s"))
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_a_writer_never_marks_its_own_sessions(tmp_path: Path) -> None:
    with Database(tmp_path / "o.duckdb") as db:
        store = SessionStore(db)
        store.create("dead", "live", {}, 1)  # left running by a process that died
        assert interrupt_dead(db) == ["dead"]
        store.create("mine", "live", {}, 2)  # a session this process then starts
        assert interrupt_dead(db) == []
        assert {r.session_id: r.status for r in store.all()} == {
            "dead": "interrupted",
            "mine": "running",
        }
    with Database(tmp_path / "o.duckdb") as db:  # the next process: "mine" died with it
        assert interrupt_dead(db) == ["mine"]


def test_a_writer_marks_a_dead_process_s_runs_never_its_own(tmp_path: Path) -> None:
    model = create_model("cnn", **SMALL)
    with Database(tmp_path / "r.duckdb") as db:
        runs = TrainingRunStore(db)
        dead = RunRow("dead", "offline", "cnn", {}, {}, None, "running", 1, None, 0, "h", 3)
        with db.transaction() as con:
            runs.save_in(con, dead)  # left running by a process that died
        TrainingRecorder(db, RunSpec("mine", "offline"), ReplayClock(5)).begin(model)
        assert {r.run_id: r.status for r in runs.list()} == {
            "dead": "interrupted",  # swept before this process's run began
            "mine": "running",
        }
        interrupt_dead(db)  # a session of this process opening later
        assert runs.require("mine").status == "running"
    with Database(tmp_path / "r.duckdb") as db:  # the next process: "mine" died with it
        TrainingRecorder(db, RunSpec("next", "offline"), ReplayClock(9)).begin(model)
        assert {r.run_id: r.status for r in TrainingRunStore(db).list()} == {
            "dead": "interrupted",
            "mine": "interrupted",
            "next": "running",
        }

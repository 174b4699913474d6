"""One durable progress: after kill -9 at any point, a resumed replay trains as if never killed.

A replay is killed (SIGKILL) at seeded random moments and run again to its end each time. The
weights it resumes from must hold exactly the steps its ledger recorded: ``audit session``
finds no prediction made by weights trained on unrecorded or later samples, no step number is
recorded twice, and, training being synchronous in replay, the run ends with as many good
steps as a run that was never killed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import MINUTE_MS, format_time
from ghostcandle.engine.evaluation.session_audit import audit_session
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore

from ..hardening.kill import kill_after, start_when_writing
from .conftest import START, SYM, fill

END = START + 90 * MINUTE_MS
SESSION = "durable"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def _replay(db: Path, flush_every: int) -> list[str]:
    return [
        sys.executable, "-m", "ghostcandle.cli.main", "replay", "--db", str(db),
        "--symbol", SYM, "--from", format_time(START), "--to", format_time(END),
        "--model", "cnn", "--mode", "every_candle", "--timeframes", "1m,1h",
        "--window", "1m=20", "--window", "1h=6", "--seed", "1", "--session", SESSION,
        "--flush-every", str(flush_every),
        # a checkpoint cadence of its own (as sessions once had) would disagree with the flushes
        "--checkpoint-every", "10", "--no-pivots", "--json",
    ]  # fmt: skip


def _finish(cmd: list[str]) -> dict[str, object]:
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    summary: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def _audit(db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``ghostcandle audit session`` (in this process); return its status and output."""
    capsys.readouterr()
    status = main(["audit", "session", "--db", str(db), "--session", SESSION])
    out = capsys.readouterr()
    return status, out.out + out.err


@pytest.fixture(scope="module")
def market_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a database file with two days of synthetic ETH/USDT (copied by each test)."""
    path = tmp_path_factory.mktemp("market") / "market.duckdb"
    with Database(path) as db:
        fill(db)
    return path


@pytest.fixture(scope="module")
def uninterrupted(market_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, float]:
    """Return the good steps of the replay run once, never killed (its audit passes too), and
    the seconds it ran once its session was open (kill moments are drawn within them)."""
    db = tmp_path_factory.mktemp("whole") / "whole.duckdb"
    shutil.copy(market_file, db)
    proc = start_when_writing(_replay(db, 500), db)
    opened = time.monotonic()
    out, err = proc.communicate(timeout=300)
    seconds = time.monotonic() - opened
    assert proc.returncode == 0, err[-2000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["events"] == summary["events_total"]
    with Database(db, read_only=True) as con:
        assert SessionStore(con).require(SESSION).train_steps == summary["train_steps"]
        assert audit_session(con, SESSION).ok
    steps = summary["train_steps"]
    assert isinstance(steps, int)
    assert steps > 40
    return steps, seconds


@pytest.mark.parametrize("flush_every", [500, 1])
def test_killed_replay_resumes_one_consistent_progress(
    flush_every: int,
    market_file: Path,
    uninterrupted: tuple[int, float],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "killed.duckdb"
    shutil.copy(market_file, db)
    cmd = _replay(db, flush_every)
    steps, seconds = uninterrupted
    rng = random.Random(flush_every)
    moments = [rng.uniform(0.1, 0.4) * seconds, rng.uniform(0.6, 0.9) * seconds]
    kills = [kill_after(start_when_writing(cmd, db), after_s)[0] for after_s in moments]
    assert any(kills), "every replay ended before it could be killed"
    summary = _finish(cmd)
    if flush_every == 1:  # it went on from what was committed, not from the start
        assert summary["events"] < summary["events_total"]  # type: ignore[operator]
    status, said = _audit(db, capsys)
    assert status == 0, said
    with Database(db, read_only=True) as con:
        repeated = con.con.execute(
            "SELECT step, count(*) FROM training_steps WHERE session_id = ? AND status = 'ok' "
            "GROUP BY step HAVING count(*) > 1 ORDER BY step LIMIT 5",
            [SESSION],
        ).fetchall()
        synchronous = SessionStore(con).require(SESSION).config["synchronous_training"]
    assert repeated == []
    # each step lands before the next event is handled: the count is the uninterrupted one's
    assert synchronous is True
    assert summary["train_steps"] == steps

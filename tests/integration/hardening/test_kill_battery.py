"""The kill battery: real processes SIGKILLed at seeded random moments, then checked.

One seed (``SEED``) draws every kill moment of the suite. Scenarios: ``ingest`` of a real file
(the store holds the whole file or nothing, and a re-run gives the clean ingest's rows, none
twice), a training ``replay`` (re-runs resume; ``audit session`` passes, no prediction or step
lost or repeated), a checkpoint write (a torn checkpoint is never listed nor loaded), and a
malicious pickle behind a valid sidecar (no code runs, one-line refusal). ``serve`` with a live
session and a second writer are in ``test_kill_battery_serve.py``. Each scenario's counts go to
``test-artifacts/kill_battery.json``.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ghostcandle.domain.clock import LiveClock, ReplayClock
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.timeframes import MINUTE_MS, format_time
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database

from ..cli.conftest import snapshot
from ..loop.conftest import START, SYM, fill
from .kill import (
    CHECKPOINT_WRITER,
    Tally,
    cli,
    finish,
    forge,
    kill_after,
    malicious_checkpoint,
    query,
    start_when_writing,
)

SEED = 20261203
COUNTS = "SELECT symbol, timeframe, count(*) FROM candles GROUP BY ALL ORDER BY ALL"
#: the replay's range: long enough that each run trains some steps, short enough to run often
MINUTES = 30
TWICE = "SELECT count(*) - count(DISTINCT (symbol, timeframe, open_time)) FROM candles"


def replay_cmd(db: Path, session: str, minutes: int, *extra: str) -> list[str]:
    """Return a training replay of ``minutes`` after START on the loop tests' small model."""
    return cli(
        "replay", "--db", str(db), "--symbol", SYM, "--from", format_time(START),
        "--to", format_time(START + minutes * MINUTE_MS), "--model", "cnn",
        "--mode", "every_candle", "--timeframes", "1m,1h", "--window", "1m=20",
        "--window", "1h=6", "--seed", "1", "--session", session, "--no-pivots", "--json",
        *extra,
    )  # fmt: skip


@pytest.mark.timeout(600)  # seven real ingests of a month of 1m candles on a loaded machine
def test_ingest_killed_leaves_the_whole_file_or_nothing(tmp_path: Path, eth_1m_2024: Path) -> None:
    tally = Tally("ingest", SEED)
    rng = random.Random(SEED + 1)
    ref = tmp_path / "clean.duckdb"
    t0 = time.monotonic()
    proc = start_when_writing(cli("ingest", "--db", str(ref), "--json", str(eth_1m_2024)), ref)
    writing = time.monotonic()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    clean = query(ref, COUNTS)
    assert sum(n for *_, n in clean) > 43_208  # the file and its roll-ups
    write_s = time.monotonic() - writing
    tally.notes["clean_s"] = round(time.monotonic() - t0, 2)

    db = tmp_path / "killed.duckdb"
    cmd = cli("ingest", "--db", str(db), "--json", str(eth_1m_2024))
    for _ in range(5):
        proc = start_when_writing(cmd, db)
        alive, _ = kill_after(proc, rng.uniform(0.0, 1.2) * write_s)
        held = query(db, COUNTS)
        if not alive:
            outcome = "ended_before_kill"
        elif held == clean:
            outcome = "killed_after_commit"
        else:
            outcome = "killed_nothing_written" if held == [] else "killed_partial"
        tally.record(outcome)
        if held not in ([], clean):  # a part of the file: what the transaction must prevent
            tally.lost += 1
        if held == clean:  # the next try starts from an empty store again
            db.unlink()
            db.with_name(db.name + ".wal").unlink(missing_ok=True)
    done = finish(cmd)
    assert done.returncode == 0, done.stderr[-2000:]
    tally.duplicated = int(query(db, TWICE)[0][0])
    tally.notes["rerun_equals_clean"] = query(db, COUNTS) == clean
    tally.save()
    assert tally.outcomes["killed_nothing_written"] + tally.outcomes["killed_after_commit"] > 0
    assert tally.lost == 0, tally.outcomes
    assert tally.notes["rerun_equals_clean"]
    assert tally.duplicated == 0


def _steps_twice(db: Path, session: str) -> int:
    rows = query(
        db,
        "SELECT count(*) FROM (SELECT step FROM training_steps WHERE session_id = "
        f"'{session}' AND status = 'ok' GROUP BY step HAVING count(*) > 1)",
    )
    return int(rows[0][0])


@pytest.mark.timeout(600)  # six training replays (torch in each) on a loaded machine
def test_replay_killed_resumes_and_the_session_audit_passes(tmp_path: Path) -> None:
    tally = Tally("replay", SEED)
    rng = random.Random(SEED + 2)
    ref = tmp_path / "whole.duckdb"
    with Database(ref) as con:
        fill(con)
    db = tmp_path / "killed.duckdb"
    shutil.copy(ref, db)
    # the uninterrupted run: its figures, and how long it runs once its session is open
    flags = ("--flush-every", "1", "--checkpoint-every", "10")
    proc = start_when_writing(replay_cmd(ref, "s", MINUTES, *flags), ref)
    opened = time.monotonic()
    out, err = proc.communicate(timeout=300)
    seconds = time.monotonic() - opened
    assert proc.returncode == 0, err[-2000:]
    whole = json.loads(out.strip().splitlines()[-1])
    ids = "SELECT prediction_id FROM predictions WHERE session_id = 's'"
    expected = {r[0] for r in query(ref, ids)}
    assert len(expected) == whole["predictions"] > 0

    cmd = replay_cmd(db, "s", MINUTES, *flags)
    for _ in range(4):
        alive, _ = kill_after(start_when_writing(cmd, db), rng.uniform(0.05, 0.9) * seconds)
        tally.record("killed" if alive else "ended_before_kill")
    done = finish(cmd)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    audit = finish(cli("audit", "session", "--db", str(db), "--session", "s"))
    got = [r[0] for r in query(db, ids)]
    tally.lost = len(expected - set(got))
    tally.duplicated = len(got) - len(set(got)) + _steps_twice(db, "s")
    tally.notes.update(
        audit_exit=audit.returncode,
        train_steps=summary["train_steps"],
        train_steps_uninterrupted=whole["train_steps"],
        resumed_events=summary["events"],
        events_total=summary["events_total"],
    )
    tally.save()
    assert tally.outcomes["killed"] > 0, "every replay ended before it could be killed"
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert (tally.lost, tally.duplicated) == (0, 0)
    assert set(got) == expected
    assert summary["train_steps"] == whole["train_steps"]


def test_checkpoint_write_killed_never_leaves_a_torn_checkpoint(tmp_path: Path) -> None:
    tally = Tally("checkpoint_write", SEED)
    rng = random.Random(SEED + 3)
    torn = 0
    for i in range(5):
        d = tmp_path / f"ck{i}"
        proc = subprocess.Popen(
            [sys.executable, "-c", CHECKPOINT_WRITER, str(d), "2000000"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "1"  # one checkpoint is complete
        if rng.random() < 0.5:  # half the tries: the moment it is writing the next one
            deadline = time.monotonic() + 20
            while not any((d / "k").glob("*.tmp")) and time.monotonic() < deadline:
                time.sleep(0.001)
        else:
            time.sleep(rng.uniform(0.0, 0.4))
        mid_write = any((d / "k").glob("*.tmp"))
        alive, rest = kill_after(proc, 0.0)
        saved = max([1, *(int(s) for s in rest.split())])  # save() returned for these
        store = CheckpointStore(d, ReplayClock(0))
        for info in store.list("k"):  # every listed checkpoint loads and is whole
            try:
                state = store.load(info)
            except DataMissingError:
                torn += 1
                continue
            w = state["weights"]["w"]
            if state["step"] != info.step or not torch.equal(w[:3], torch.arange(3.0) + info.step):
                torn += 1
        latest = store.latest("k")
        tally.lost += int(latest is None or latest.step < saved)
        tally.record("killed_mid_write" if mid_write else "killed" if alive else "ended")
    tally.notes["torn_loaded"] = torn
    tally.save()
    assert tally.outcomes["killed_mid_write"] + tally.outcomes["killed"] == tally.tries
    assert (torn, tally.lost) == (0, 0)


def test_a_malicious_pickle_with_a_valid_sidecar_runs_no_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tally = Tally("malicious_pickle", SEED)
    marker = tmp_path / "pwned"
    data = malicious_checkpoint(marker)
    torch.load(io.BytesIO(data), weights_only=False)  # loaded without care, it runs code
    assert marker.exists()
    marker.unlink()

    db = tmp_path / "p.duckdb"
    with Database(db) as con:
        fill(con)
    store = CheckpointStore(checkpoint_dir_for(db), LiveClock())
    state = create_model("cnn", timeframes=["1m"], windows={"1m": 20}).state_dict()
    forge(Path(store.save("evil", state).path), data)
    info = store.latest("evil")
    assert info is not None  # its sidecar vouches for it: size and SHA-256 match
    with pytest.raises(DataMissingError) as refused:
        store.load(info)
    lines = [str(refused.value)]
    before = snapshot(db)
    got = finish(replay_cmd(db, "p", 30, "--checkpoint", "evil"))
    lines.append(got.stderr.strip())
    for line in lines:
        tally.record("refused_one_line" if "\n" not in line and line else "refused_badly")
    tally.notes.update(marker_created=marker.exists(), cli_exit=got.returncode)
    tally.save()
    assert not marker.exists()
    assert got.returncode == 2, got.stderr[-2000:]
    assert "Traceback" not in got.stderr
    assert tally.outcomes["refused_one_line"] == 2, lines
    assert "evil" in lines[1] or "checkpoint" in lines[1]
    assert snapshot(db) == before

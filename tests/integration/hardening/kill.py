"""Killing real processes for the battery: start a CLI, SIGKILL it, forge files, tally outcomes.

Shared by the kill tests (``loop/test_durable_progress.py``, ``models/test_checkpoints.py``) and
the battery (``test_kill_battery.py``), which writes its counts to
``test-artifacts/kill_battery.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import torch

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def cli(*args: str) -> list[str]:
    """Return the command line that runs ``ghostcandle ARGS`` in a fresh interpreter."""
    return [sys.executable, "-m", "ghostcandle.cli.main", *args]


def start_when_writing(
    cmd: list[str], db: Path, *, timeout_s: float = 120.0
) -> subprocess.Popen[str]:
    """Start ``cmd``; return once it has written to ``db`` (its WAL changed) or ended."""
    wal = db.with_name(db.name + ".wal")
    before = wal.stat().st_mtime_ns if wal.exists() else 0
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if wal.exists() and wal.stat().st_mtime_ns != before:
            break
        time.sleep(0.01)
    return proc


def kill_after(proc: subprocess.Popen[Any], after_s: float) -> tuple[bool, str]:
    """SIGKILL ``proc`` ``after_s`` from now; return whether it was still running then, and
    what it had written to its stdout."""
    time.sleep(after_s)
    alive = proc.poll() is None
    if alive:  # not reaped yet: the pid is still this process's, even if it just ended
        os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate()
    return alive, out or ""


def finish(cmd: list[str], *, timeout_s: float = 300.0) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` to its end and return what it did."""
    return subprocess.run(
        cmd, env=ENV, capture_output=True, text=True, timeout=timeout_s, check=False
    )


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Run ``sql`` on ``db`` read-only with plain DuckDB (no migration); [] if it has no such
    table or no file."""
    if not db.exists():
        return []
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


#: A child that saves checkpoints under key "k" forever (16 MB of weights unless argv[2] gives
#: another count of floats: the kill lands mid-write), printing each step once saved.
CHECKPOINT_WRITER = """
import sys, torch
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.training.checkpoints import CheckpointStore
store = CheckpointStore(sys.argv[1], ReplayClock(0), keep=3)
big = torch.arange(int(sys.argv[2]) if len(sys.argv) > 2 else 4_000_000, dtype=torch.float32)
step = 0
while True:
    step += 1
    store.save("k", {"family": "big", "step": step, "weights": {"w": big + step}})
    print(step, flush=True)
"""


def forge(pt: Path, data: bytes) -> None:
    """Replace checkpoint ``pt`` with ``data`` and rewrite its sidecar to match (size, SHA-256):
    only loading it can tell."""
    pt.write_bytes(data)
    side = pt.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    side.write_text(json.dumps(meta))


class _Touch:
    """Unpickling this creates ``path``: code run by a load (``open(path, 'w')``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


def malicious_checkpoint(marker: Path) -> bytes:
    """Return a torch checkpoint whose unpickling creates ``marker`` (``torch.load`` with
    ``weights_only=False`` runs it)."""
    buf = io.BytesIO()
    torch.save({"family": "cnn", "step": 1, "weights": {}, "x": _Touch(marker)}, buf)
    return buf.getvalue()


class Tally:
    """Counts of one battery scenario: tries, outcomes by kind, what was lost or duplicated."""

    def __init__(self, scenario: str, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.tries = 0
        self.outcomes: Counter[str] = Counter()
        self.lost = 0
        self.duplicated = 0
        self.notes: dict[str, Any] = {}

    def record(self, outcome: str) -> None:
        """Count one try ending in ``outcome``."""
        self.tries += 1
        self.outcomes[outcome] += 1

    def save(self) -> None:
        """Write this scenario's counts into ``test-artifacts/kill_battery.json``."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / "kill_battery.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data[self.scenario] = {
            "seed": self.seed,
            "tries": self.tries,
            "outcomes": dict(sorted(self.outcomes.items())),
            "lost": self.lost,
            "duplicated": self.duplicated,
            **self.notes,
        }
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

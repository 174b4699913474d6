"""A spoilt checkpoint, and a database another process holds: one line, exit 2, nothing written.

Each spoilt checkpoint verifies against its sidecar (size and SHA-256 rewritten to match), so
only loading it can find out; a second process is real (a subprocess holding the file).
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ghostcandle.cli.main import main
from ghostcandle.domain.clock import LiveClock
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.models.registry import create_model

from .conftest import snapshot

RANGE = ("--symbol", "ETH/USDT", "--from", "2024-07-27T02:00", "--to", "2024-07-27T03:00")
SPOILS = ("garbage", "empty", "wrong_shape", "no_weights")


def _spoilt_checkpoint(db_path: Path, key: str, spoil: str) -> None:
    """Save a cnn checkpoint under ``key`` beside the database, spoilt as ``spoil`` says."""
    state = create_model("cnn", timeframes=["1m"], windows={"1m": 30}).state_dict()
    if spoil == "wrong_shape":
        weights = state["weights"]
        weights[next(iter(weights))] = torch.zeros(3, 3)
    elif spoil == "no_weights":
        del state["weights"]
    info = CheckpointStore(checkpoint_dir_for(db_path), LiveClock()).save(key, state)
    if spoil in ("garbage", "empty"):
        pt = Path(info.path)
        data = b"not a torch checkpoint " * 40 if spoil == "garbage" else b""
        pt.write_bytes(data)
        side = pt.with_suffix(".json")
        meta = json.loads(side.read_text())
        meta.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        side.write_text(json.dumps(meta))


@pytest.mark.parametrize("spoil", SPOILS)
@pytest.mark.parametrize(
    ("argv", "key"),
    [
        (["replay", "--model", "cnn", "--checkpoint", "mine"], "mine"),
        (["replay", "--model", "cnn", "--checkpoint", "annotations"], "annotations-cnn"),
        (["backtest", "--model", "cnn", "--timeframe", "1m", "--checkpoint", "mine"], "mine"),
        (["backtest", "--model", "cnn", "--timeframe", "1m", "--checkpoint", "annotations"],
         "annotations-cnn"),
    ],
    ids=("replay-named", "replay-annotations", "backtest-named", "backtest-annotations"),
)  # fmt: skip
def test_a_spoilt_checkpoint_is_one_line(
    capsys: pytest.CaptureFixture[str], eth_db: Path, argv: list[str], key: str, spoil: str
) -> None:
    _spoilt_checkpoint(eth_db, key, spoil)
    before = snapshot(eth_db)
    code = main([*argv, *RANGE, "--db", str(eth_db)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert "checkpoint" in err
    assert "fresh" in err or "retrain" in err  # what to do
    assert snapshot(eth_db) == before


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_second_serve_on_a_held_database_exits_2_in_one_line(eth_db: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
         " time.sleep(120)", str(eth_db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        before = snapshot(eth_db)
        t0 = time.monotonic()
        for argv in (["serve", "--port", str(_free_port())], ["info"]):
            got = subprocess.run(
                [sys.executable, "-m", "ghostcandle.cli.main", *argv, "--db", str(eth_db)],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert got.returncode == 2, got.stderr[-2000:]
            lines = got.stderr.strip().splitlines()
            assert len(lines) == 1, got.stderr[-2000:]
            assert "Traceback" not in got.stderr
            assert "another process" in lines[0]
            assert f"PID {holder.pid}" in lines[0]
        assert time.monotonic() - t0 < 100
        assert snapshot(eth_db) == before
    finally:
        holder.kill()
        holder.wait()

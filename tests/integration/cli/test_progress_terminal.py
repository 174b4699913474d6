"""Progress bars as an operator sees them: the real CLI on a real (pseudo-)terminal.

A command run on a terminal draws a Rich bar; with ``--json`` it prints one JSON object and
nothing else, even on a terminal. (Off a terminal nothing is drawn either: the other CLI
tests read the plain output.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")

T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_terminal(*args: str) -> tuple[int, str]:
    """Run ``ghostcandle ARGS`` with stdout and stderr on a pseudo-terminal; return its text."""
    primary, secondary = os.openpty()
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", *args]
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary, env=env
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    code = proc.wait(timeout=240)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


@pytest.fixture
def candle_file(tmp_path: Path) -> Path:
    path = tmp_path / "ETHUSDT-1m-2024-07.csv"
    synthetic_candles(2_000, "1m", start_ms=T0, seed=3).to_csv(path, index=False)
    return path


def test_ingest_on_a_terminal_draws_a_bar(tmp_path: Path, candle_file: Path) -> None:
    code, text = on_terminal("ingest", str(candle_file), "--db", str(tmp_path / "g.duckdb"))
    assert code == 0, text
    plain = ANSI.sub("", text)
    assert "━" in plain
    assert re.search(r"ingest\s+━+\s+100%", plain), plain
    assert "accepted:   2000" in plain


def test_json_on_a_terminal_is_one_object_and_no_bar(tmp_path: Path, candle_file: Path) -> None:
    db = str(tmp_path / "g.duckdb")
    code, text = on_terminal("ingest", str(candle_file), "--db", db, "--json")
    assert code == 0, text
    assert "━" not in text
    assert json.loads(text.strip())["accepted"] == 2_000


def test_train_on_a_terminal_shows_epoch_loss_and_accuracy(tmp_path: Path) -> None:
    db_path = tmp_path / "g.duckdb"
    with Database(db_path) as db:
        CandleStore(db).write(
            "ETH/USDT",
            "1m",
            synthetic_candles(600, "1m", start_ms=T0, seed=5),
            provenance=CandleSource.FILE,
        )
        store = AnnotationStore(db, CandleStore(db), tmp_path / "cases", ReplayClock(T0))
        store.create("ETH/USDT", "1m", T0 + 150 * 60_000, T0 + 170 * 60_000, direction="LONG")
        store.create("ETH/USDT", "1m", T0 + 210 * 60_000, T0 + 240 * 60_000, direction="SHORT")
    code, text = on_terminal(
        "train", "--model", "cnn", "--annotations", "--epochs", "2", "--db", str(db_path)
    )
    assert code == 0, text
    plain = ANSI.sub("", text)
    assert re.search(r"train cnn\s+━+\s+2/2 .*loss \d+\.\d{4}\s+accuracy \d\.\d{3}", plain), plain
    assert "checkpoint: " in plain

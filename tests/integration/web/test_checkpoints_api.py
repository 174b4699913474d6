"""``GET /api/checkpoints``: the named checkpoints still stored, what a start may name."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from contextlib import redirect_stdout

import httpx
import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for

from .conftest import START, Server, seed_database, start_server, stop_server

SMALL = {"windows": {"1m": 30}, "channels": 8, "layers": 2, "hidden": 16}


def _train(db: str, name: str) -> None:
    argv = [
        "train", "--db", db, "--model", "cnn", "--symbol", "ETH/USDT", "--timeframes", "1m",
        "--from", format_time(START), "--to", format_time(START + 4 * HOUR_MS), "--epochs", "1",
        "--model-config", json.dumps(SMALL), "--name", name, "--json",
    ]  # fmt: skip
    with redirect_stdout(io.StringIO()):
        assert main(argv) == 0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve a database with two named fits, the checkpoint of one deleted since."""
    tmp = tmp_path_factory.mktemp("ckpts")
    db = tmp / "ws.duckdb"
    seed_database(db)
    _train(str(db), "kept")
    _train(str(db), "gone")
    removed = [p for p in checkpoint_dir_for(db).iterdir() if "gone" in p.name]
    assert removed
    for p in removed:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    proc, srv = start_server(tmp)
    yield srv
    stop_server(proc)


def test_only_stored_named_checkpoints_are_listed(server: Server) -> None:
    body = httpx.get(server.url + "/api/checkpoints", timeout=30).json()
    names = [c["name"] for c in body["checkpoints"]]
    assert names == ["kept"]
    got = body["checkpoints"][0]
    assert got["model"] == "cnn"
    assert got["timeframes"] == ["1m"]
    assert got["symbol"] == "ETH/USDT"

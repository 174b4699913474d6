"""Replays of two real symbols on a local Ray, merged, equal the sessions run one by one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.integration.distributed.conftest import FIRST, ingest_real

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for
from ghostcandle.store.db import Database

START = FIRST + HOUR_MS
END = START + 2 * HOUR_MS
CONFIG = {"windows": {"1m": 30}, "hidden": 16, "layers": 1}
TIMINGS = {"elapsed_s", "candles_per_s"}
#: what a merged session must hold exactly as the one run here
TABLES = ("loop_sessions", "predictions", "frames", "training_steps", "training_samples")


def _argv(db: Path, *extra: str) -> list[str]:
    return [
        "replay", "--db", str(db), "--model", "excursion_mlp", "--mode", "every_candle",
        "--timeframes", "1m", "--from", format_time(START), "--to", format_time(END),
        "--model-config", json.dumps(CONFIG), "--checkpoint-every", "20", "--json", *extra,
    ]  # fmt: skip


def _rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    # a session's stored summary holds its wall time: compared apart, without the timings
    what = "* EXCLUDE (summary)" if table == "loop_sessions" else "*"
    with Database(db, read_only=True) as d:
        return sorted(map(tuple, d.con.execute(f"SELECT {what} FROM {table}").fetchall()), key=repr)


def _summaries(db: Path) -> dict[str, dict[str, Any]]:
    with Database(db, read_only=True) as d:
        rows = d.con.execute("SELECT session_id, summary FROM loop_sessions").fetchall()
    return {i: {k: v for k, v in json.loads(s).items() if k not in TIMINGS} for i, s in rows}


@pytest.fixture(scope="module")
def dbs(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Return two copies of a database of 200 real 1m candles of BTC/USDT and ETH/USDT."""
    tmp = tmp_path_factory.mktemp("ray_replay")
    one = ingest_real(shared_data, tmp, rows=200)
    other = tmp / "ray.duckdb"
    shutil.copy(one, other)
    return one, other


def test_ray_replays_merge_to_the_sequential_sessions(
    dbs: tuple[Path, Path], local_ray: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seq_db, ray_db = dbs
    one_by_one = {}
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert main(_argv(seq_db, "--symbol", symbol)) == 0
        one_by_one[symbol] = json.loads(capsys.readouterr().out)
    assert main(_argv(ray_db, "--symbols", "BTC/USDT,ETH/USDT", "--ray")) == 0
    out = json.loads(capsys.readouterr().out)
    for summary in out["replays"]:
        (symbol,) = summary["symbols"]
        seq = one_by_one[symbol]
        assert summary["train_steps"] > 0
        assert summary["resolved"] > 100
        assert {k: v for k, v in summary.items() if k not in TIMINGS} == {
            k: v for k, v in seq.items() if k not in TIMINGS
        }
    for table in TABLES:  # the merged rows are the rows of the sessions run here
        assert _rows(ray_db, table) == _rows(seq_db, table), table
    assert _summaries(ray_db) == _summaries(seq_db)
    # every checkpoint the merged sessions name is in this database's folder
    with Database(ray_db, read_only=True) as d:
        named = d.con.execute("SELECT checkpoint_path FROM loop_sessions").fetchall()
    assert named
    assert all((checkpoint_dir_for(ray_db) / n).is_file() for (n,) in named if n)
    assert not Path(f"{ray_db}.ray").exists()


def test_a_second_ray_replay_of_the_same_sessions_is_refused(
    dbs: tuple[Path, Path], local_ray: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, ray_db = dbs
    before = _rows(ray_db, "predictions")
    assert main(_argv(ray_db, "--symbols", "BTC/USDT,ETH/USDT", "--ray")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "is already stored: resume it without --ray" in err
    assert _rows(ray_db, "predictions") == before

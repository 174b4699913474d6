"""Walk-forwards of two real symbols on a local Ray equal the sequential runs, or write nothing."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from tests.integration.distributed.conftest import FIRST, ingest_real

from ghostcandle.cli.main import main
from ghostcandle.distributed.tasks import Task, TaskFailedError, run_tasks
from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.models.excursion_mlp import make_excursion_mlp
from ghostcandle.models.registry import _FACTORIES, register_model
from ghostcandle.store.db import Database

START = FIRST + HOUR_MS  # every 30-candle window is whole from here
END = START + 16 * HOUR_MS
CONFIG = {"windows": {"1m": 30}, "hidden": 16, "layers": 1}
#: what differs between two equal runs: the clock and the run's id
TIMINGS = {"duration_s", "samples_per_s", "train_s", "run_id", "created_at"}


def _argv(db: Path, *extra: str, model: str = "excursion_mlp") -> list[str]:
    return [
        "train", "--db", str(db), "--model", model, "--timeframes", "1m",
        "--from", format_time(START), "--to", format_time(END), "--epochs", "1",
        "--walk-forward", "train=8h,test=4h", "--model-config", json.dumps(CONFIG),
        "--json", *extra,
    ]  # fmt: skip


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _runs(db: Path) -> list[tuple[str, str, dict[str, Any]]]:
    with Database(db, read_only=True) as d:
        rows = d.con.execute(
            "SELECT run_id, symbol, summary FROM offline_runs ORDER BY created_at, run_id"
        ).fetchall()
    return [(r, s, json.loads(j) if isinstance(j, str) else j) for r, s, j in rows]


@pytest.fixture(scope="module")
def real_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a database of 1100 real 1m candles each of BTC/USDT and ETH/USDT."""
    return ingest_real(shared_data, tmp_path_factory.mktemp("ray"), rows=1100)


def test_ray_walk_forward_equals_sequential(
    real_db: Path, local_ray: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sequential = {}
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert main([*_argv(real_db, "--symbol", symbol)]) == 0
        sequential[symbol] = json.loads(capsys.readouterr().out)
    stored_before = len(_runs(real_db))
    assert main([*_argv(real_db, "--symbols", "BTC/USDT,ETH/USDT", "--ray")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["symbol"] for s in out["symbols"]] == ["BTC/USDT", "ETH/USDT"]
    for run in out["symbols"]:
        seq = sequential[run["symbol"]]
        assert len(run["folds"]) == 2
        # the same folds, fits (losses to the last bit), test rows and evaluations
        assert _without_timings(run["folds"]) == _without_timings(seq["folds"])
        assert _without_timings(run["aggregate"]) == _without_timings(seq["aggregate"])
        assert run["aggregate"]["evaluation"]["excursion_mlp"]["1m"]["n"] == 2 * 4 * 60
    runs = _runs(real_db)
    assert len(runs) == stored_before + 2
    by_id = {r: (s, summary) for r, s, summary in runs}
    for run in out["symbols"]:
        symbol, summary = by_id[run["run_id"]]
        assert symbol == run["symbol"]
        assert _without_timings(summary) == _without_timings(sequential[symbol])
    assert not Path(f"{real_db}.ray").exists()  # the snapshot is gone


def test_a_failing_task_fails_the_run_and_writes_nothing(
    real_db: Path, local_ray: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # a model installed on the driver only: every worker's task refuses it
    register_model("driver_only_mlp", make_excursion_mlp)
    before = _runs(real_db)
    argv = _argv(real_db, "--symbols", "BTC/USDT,ETH/USDT", "--ray", model="driver_only_mlp")
    try:
        assert main(argv) == 2
    finally:  # other tests list the registered families
        _FACTORIES.pop("driver_only_mlp", None)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(r"(BTC|ETH)/USDT fold [12]: ", err)
    assert "unknown model 'driver_only_mlp'" in err
    assert _runs(real_db) == before
    assert not Path(f"{real_db}.ray").exists()


def test_run_tasks_names_the_task_that_raised(local_ray: Any) -> None:
    tasks = [
        Task("BTC/USDT fold 1", json.loads, ("7",)),
        Task("ETH/USDT fold 2", json.loads, ("x",)),
    ]
    with pytest.raises(TaskFailedError, match=r"^ETH/USDT fold 2: task failed: JSONDecodeError"):
        run_tasks(tasks)
    assert run_tasks(tasks[:1]) == [7]


def test_unreachable_address_is_one_line_and_writes_nothing(
    real_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = _runs(real_db)
    assert main(_argv(real_db, "--symbol", "ETH/USDT", "--ray", f"127.0.0.1:{port}")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"--ray 127.0.0.1:{port}: no Ray cluster answers there" in err
    assert _runs(real_db) == before
    assert not Path(f"{real_db}.ray").exists()

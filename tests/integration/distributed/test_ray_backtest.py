"""Backtests of two real symbols on a local Ray equal the ones run one by one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration.distributed.conftest import FIRST, ingest_real

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import HOUR_MS, format_time

START = FIRST + HOUR_MS
END = START + 6 * HOUR_MS
# min_confidence 0: the fresh model trades on its most probable action, so trades are compared
CONFIG = {"windows": {"1m": 30}, "hidden": 16, "layers": 1, "min_confidence": 0.0}
TIMINGS = {"elapsed_s", "candles_per_s"}


def _argv(db: Path, *extra: str) -> list[str]:
    return [
        "backtest", "--db", str(db), "--model", "excursion_mlp", "--timeframe", "1m",
        "--from", format_time(START), "--to", format_time(END), "--fee-bps", "2",
        "--model-config", json.dumps(CONFIG), "--json", *extra,
    ]  # fmt: skip


def _figures(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in TIMINGS}


@pytest.fixture(scope="module")
def real_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a database of 480 real 1m candles each of BTC/USDT and ETH/USDT."""
    return ingest_real(shared_data, tmp_path_factory.mktemp("ray_bt"), rows=480)


def test_ray_backtests_equal_the_sequential_ones(
    real_db: Path, local_ray: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    one_by_one = {}
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert main(_argv(real_db, "--symbol", symbol)) == 0
        one_by_one[symbol] = json.loads(capsys.readouterr().out)
    assert main(_argv(real_db, "--symbols", "BTC/USDT,ETH/USDT", "--ray")) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["symbol"] for r in out["backtests"]] == ["BTC/USDT", "ETH/USDT"]
    for r in out["backtests"]:
        seq = one_by_one[r["symbol"]]
        assert r["candles"] == 6 * 60
        assert r["trade_list"]  # the fresh model trades: there is something to compare
        assert _figures(r) == _figures(seq)  # same trades, equity and figures
    assert not Path(f"{real_db}.ray").exists()


def test_ray_backtest_refuses_training_in_one_line(
    real_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_argv(real_db, "--symbols", "BTC/USDT", "--ray", "--train", "every_candle")) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--ray runs batched backtests without training" in err

"""``ghostcandle replay --json`` and ``ghostcandle evaluate`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.store.db import Database

from .conftest import START, fill


def test_replay_json_then_evaluate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cli.duckdb"
    with Database(path) as db:
        fill(db)
    args = [
        "replay", "--db", str(path), "--symbol", "ETHUSDT", "--from", format_time(START),
        "--to", format_time(START + HOUR_MS), "--model", "transformer", "--mode", "none",
        "--timeframes", "1m,1h", "--window", "1m=20", "--window", "1h=6", "--json",
    ]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("predictions", "resolved", "expired", "train_steps", "evaluation"):
        assert key in summary
    assert summary["predictions"] == 5 * 59
    assert set(summary["evaluation"]) == {
        "transformer",
        "persistence",
        "drift",
        "vol_range",
        "majority",
    }
    assert main(["evaluate", "--db", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["session_id"] == summary["session_id"]
    assert report["evaluation"] == summary["evaluation"]
    assert report["counts"]["resolved"] == summary["resolved"]


def test_replay_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.duckdb"
    with Database(path) as db:
        fill(db, days=1)
    base = ["replay", "--db", str(path), "--symbol", "ETH/USDT", "--model", "cnn"]
    assert main([*base, "--from", "2023-11-14T02:00", "--to", "2023-11-14T01:00"]) == 2
    assert "give --to after --from" in capsys.readouterr().err
    assert main([*base, "--from", "2023-11-14T02:00", "--to", "2023-11-14T03:00",
                 "--window", "1m:20"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "write it as TF=N" in err
    assert main(["evaluate", "--db", str(path)]) == 2
    assert "run `ghostcandle replay`" in capsys.readouterr().err

"""``ghostcandle train`` on stored candles, as an operator runs it; bad input writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for
from ghostcandle.store.db import Database
from ghostcandle.store.offline_runs import OfflineRunStore

if TYPE_CHECKING:
    from conftest import OfflineData


def _argv(offline: OfflineData, *extra: str) -> list[str]:
    return [
        "train", "--db", str(offline.path), "--model", "cnn", "--symbol", offline.symbol,
        "--timeframes", "1m,1h", "--from", format_time(offline.start),
        "--to", format_time(offline.start + 6 * HOUR_MS), "--epochs", "2",
        "--model-config", json.dumps(offline.small["cnn"]), *extra,
    ]  # fmt: skip


def _written(path: Path) -> tuple[bool, int, int]:
    with Database(path, read_only=True) as db:
        runs = len(OfflineRunStore(db).list())
        cur = db.con.cursor()
        row = cur.execute("SELECT count(*) FROM frames").fetchone()
        cur.close()
    directory = checkpoint_dir_for(path)
    return directory.exists() and any(directory.iterdir()), runs, int(row[0]) if row else 0


def _replace_arg(argv: list[str], flag: str, value: str) -> list[str]:
    out = list(argv)
    out[out.index(flag) + 1] = value
    return out


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (("--to", "--from"), "range is empty"),
        (("--to", "2024-01-01"), "range is empty"),
        (("--symbol", "BTC/USDT"), "no 1m candles of BTC/USDT are stored"),
        (("--model-config", '{"windows": {"1m": 30, "1h": 400}}'), "shorten the windows"),
        (("--model", "gpt"), "unknown model 'gpt'"),
        (("--model", "persistence"), "persistence is a baseline and never learns"),
        (("--model", "imbalance"), "imbalance is a baseline and never learns"),
        (("--timeframes", "1m,7m"), "unknown timeframe '7m'"),
        (("--epochs", "0"), "--epochs 0 is not in"),
        (("--name", "live-x"), "cannot name a checkpoint"),
        (("--model-config", "{oops"), "--model-config is not JSON"),
        (("--walk-forward", "train=30d,test=7d"), "shorter than one fold"),
        (("--walk-forward", "train=10m,test=5m"), "too few to train and validate on"),
        (("--walk-forward", "train=1d"), "needs train= and test="),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    offline: OfflineData,
    capsys: pytest.CaptureFixture[str],
    change: tuple[str, str],
    says: str,
) -> None:
    flag, value = change
    before = offline.path.stat().st_mtime_ns, offline.path.stat().st_size
    argv = _argv(offline)
    if value == "--from":
        value = argv[argv.index("--from") + 1]
    argv = _replace_arg(argv, flag, value) if flag in argv else [*argv, flag, value]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert says in err
    assert "Traceback" not in err
    assert (offline.path.stat().st_mtime_ns, offline.path.stat().st_size) == before
    assert _written(offline.path) == (False, 0, 0)


def test_a_book_reading_model_is_refused_in_one_line(
    offline: OfflineData, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _replace_arg(_argv(offline), "--model", "cob")
    argv = [*argv, "--model-config", '{"windows": {"1m": 30, "1h": 4}, "snapshots": 10}']
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "cob reads order books" in err
    assert _written(offline.path) == (False, 0, 0)


def test_missing_options_and_database_are_refused(
    offline: OfflineData, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _argv(offline)
    without_to = argv[: argv.index("--to")] + argv[argv.index("--to") + 2 :]
    assert main(without_to) == 2
    assert "needs --to as well" in capsys.readouterr().err
    assert main([*argv, "--annotations"]) == 2
    assert "one source at a time" in capsys.readouterr().err
    nowhere = tmp_path / "none.duckdb"
    assert main(_replace_arg(argv, "--db", str(nowhere))) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not nowhere.exists()
    assert _written(offline.path) == (False, 0, 0)


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def test_a_fit_from_the_command_line_then_the_list(offline: OfflineData) -> None:
    argv = _argv(offline, "--name", "cli-fit")
    run = _run([*argv, "--json"])
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1  # one JSON object and nothing else
    out = json.loads(lines[0])
    assert out["name"] == "cli-fit"
    assert Path(out["checkpoint_path"]).is_file()
    assert out["fit"]["best_epoch"] >= 1
    assert "━" not in run.stderr  # never a progress bar off a terminal
    # the name is taken now: refused (nothing more written) unless replaced
    again = _run(argv)
    assert again.returncode == 2
    assert "--replace" in again.stderr
    assert _written(offline.path)[:2] == (True, 1)
    listed = _run(["train", "--db", str(offline.path), "--list", "--json"])
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["run_id"] == out["run_id"]
    assert row["checkpoint"] == out["checkpoint"]

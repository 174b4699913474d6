"""`ghostcandle train --model dqn` on a small database: episodes, experiences, a backtest of it."""

from __future__ import annotations

import json
import subprocess
import sys

from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.store.db import Database

from .conftest import OfflineData

SMALL_DQN = {"windows": {"1m": 30, "1h": 4}, "hidden": 16, "recent": 4, "n_step": 2}


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


def test_dqn_trains_by_episodes_records_experiences_and_backtests(offline: OfflineData) -> None:
    end = offline.start + 6 * HOUR_MS
    run = _run([
        "train", "--db", str(offline.path), "--model", "dqn", "--symbol", offline.symbol,
        "--timeframes", "1m,1h", "--from", format_time(offline.start), "--to", format_time(end),
        "--epochs", "2", "--name", "dqn-small", "--model-config", json.dumps(SMALL_DQN), "--json",
    ])  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    episodes = out["fit"]["replay"]
    assert episodes["kind"] == "dqn_episodes"
    assert episodes["steps"] > 0
    assert episodes["failed_steps"] == 0
    assert episodes["acted_steps"] >= 2 * (out["fit"]["train_samples"] - 2)
    with Database(offline.path, read_only=True) as db:
        cur = db.con.cursor()
        rows = cur.execute(
            "SELECT count(*), count(DISTINCT frame_id) FROM training_samples "
            "WHERE source = 'experience'"
        ).fetchone()
        cur.close()
    assert rows is not None
    assert rows[0] > 0  # experiences are samples, by reference to their state's frame
    assert 0 < rows[1] <= out["fit"]["train_samples"]
    # the named checkpoint backtests (greedy) on the hours after the training range
    bt = _run([
        "backtest", "--db", str(offline.path), "--model", "dqn", "--symbol", offline.symbol,
        "--timeframe", "1m", "--from", format_time(end), "--to", format_time(end + 2 * HOUR_MS),
        "--checkpoint", "dqn-small", "--json",
    ])  # fmt: skip
    assert bt.returncode == 0, bt.stderr
    report = json.loads(bt.stdout)
    assert "buy_and_hold" in json.dumps(report)


def test_dqn_range_too_short_for_the_warm_up_is_one_line(offline: OfflineData) -> None:
    end = offline.start + HOUR_MS
    run = _run([
        "train", "--db", str(offline.path), "--model", "dqn", "--symbol", offline.symbol,
        "--timeframes", "1m,1h", "--from", format_time(offline.start), "--to", format_time(end),
        "--epochs", "1", "--model-config", json.dumps(SMALL_DQN),
    ])  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "warm-up" in run.stderr

"""``ghostcandle replay --baselines``: the baselines scored beside the model, checked by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.models.registry import baseline_names
from ghostcandle.store.db import Database

from .conftest import START, fill


def _replay(path: Path, *extra: str) -> list[str]:
    return [
        "replay", "--db", str(path), "--symbol", "ETHUSDT", "--from", format_time(START),
        "--to", format_time(START + HOUR_MS), "--model", "transformer", "--timeframes", "1m",
        "--window", "1m=20", "--json", *extra,
    ]  # fmt: skip


def test_replay_scores_the_baselines_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.duckdb"
    with Database(path) as db:
        fill(db)
    assert main(_replay(path, "--baselines", "drift, majority,drift")) == 0
    chosen = json.loads(capsys.readouterr().out)
    assert set(chosen["evaluation"]) == {"transformer", "drift", "majority"}
    assert chosen["predictions"] == 3 * 59
    assert main(_replay(path)) == 0
    default = json.loads(capsys.readouterr().out)
    assert set(default["evaluation"]) == {
        "transformer", "persistence", "drift", "vol_range", "majority"
    }  # fmt: skip
    # another set of baselines is another session, not a resumed one
    assert default["session_id"] != chosen["session_id"]
    assert default["events"] == default["events_total"]
    with Database(path, read_only=True) as db:
        rows = db.con.execute(
            "SELECT DISTINCT model FROM predictions WHERE session_id = ?", [chosen["session_id"]]
        ).fetchall()
    assert {str(r[0]) for r in rows} == {"transformer", "drift", "majority"}


@pytest.mark.parametrize(
    ("value", "says"),
    [("persistence,nope", "unknown baseline nope"), (" , ", "no baseline named")],
)
def test_a_bad_baseline_is_refused_in_one_line_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, says: str
) -> None:
    path = tmp_path / "bad.duckdb"
    with Database(path) as db:
        fill(db, days=1)
    assert main(_replay(path, "--baselines", value)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert says in err
    assert ", ".join(baseline_names()) in err
    with Database(path, read_only=True) as db:
        assert db.con.execute("SELECT count(*) FROM loop_sessions").fetchone() == (0,)

"""``/api/samples/stats`` and ``/api/leaderboard`` on a real server over real replays."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

import duckdb
import httpx
import pytest

from ghostcandle.cli.main import main

from .conftest import Server, start_server, stop_server
from .learning_db import BASELINE, LEARNING, LearningDb, build_learning_db

#: the server, what was built, what `samples stats --json` printed
Served = tuple[Server, LearningDb, dict[str, Any]]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Serve the learning database, one prediction of the learning session's ``drift`` gone
    (so its models no longer resolved the same targets)."""
    tmp = tmp_path_factory.mktemp("learning")
    built = build_learning_db(tmp / "ws.duckdb", tmp / "test_cases")
    con = duckdb.connect(str(tmp / "ws.duckdb"))
    gone = con.execute(
        "SELECT min(prediction_id) FROM predictions "
        "WHERE session_id = ? AND model = 'drift' AND status = 'resolved'",
        [LEARNING],
    ).fetchone()
    for table in ("prediction_outcomes", "prediction_rows"):
        con.execute(f"DELETE FROM {table} WHERE prediction_id = ?", [gone[0] if gone else None])
    con.close()
    out = io.StringIO()
    with redirect_stdout(out):  # before the server holds the database
        assert main(["samples", "stats", "--db", str(tmp / "ws.duckdb"), "--json"]) == 0
    proc, srv = start_server(tmp)
    yield srv, built, json.loads(out.getvalue())
    stop_server(proc)


def test_samples_stats_answer_what_the_command_prints(served: Served) -> None:
    srv, built, printed = served
    r = httpx.get(srv.url + "/api/samples/stats", timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == printed
    assert body["total"] > 0
    assert body["by_status"]["quarantined"] == built.quarantined > 0
    assert all(q["reason"] for q in body["quarantined"])


def test_leaderboard_scores_each_sessions_models_on_the_same_targets(
    served: Served,
) -> None:
    srv, built, _ = served
    with httpx.Client(base_url=srv.url, timeout=120) as c:
        board = c.get("/api/leaderboard").json()
        own = c.get("/api/evaluation", params={"session": LEARNING}).json()["evaluation"]
    assert sorted(board["sessions"]) == sorted([LEARNING, BASELINE])
    entries = board["entries"]
    assert [e["rank"] for e in entries] == list(range(1, len(entries) + 1))
    learn = [e for e in entries if e["session_id"] == LEARNING]
    assert {e["model"] for e in learn} >= {"excursion_mlp", "persistence", "drift"}
    # every model of the session on the targets all of them resolved: drift lacks one
    sizes = {e["n"] for e in learn}
    assert sizes == {own["drift"]["1m"]["n"]}
    assert own["excursion_mlp"]["1m"]["n"] == own["drift"]["1m"]["n"] + 1
    mlp = next(e for e in learn if e["model"] == "excursion_mlp")
    assert mlp["learns"] is True
    assert mlp["age_steps"] == built.replays[LEARNING]["train_steps"]
    assert mlp["age_steps"] > 0
    assert mlp["strongest_baseline"] in ("persistence", "drift", "vol_range", "majority")
    for e in entries:
        assert (e["age_steps"] is None) == (not e["learns"])
        assert e["net_pnl"] is not None
        assert e["calibration_ece"] is None or 0 <= e["calibration_ece"] <= 1
    # best first: the skill against the strongest baseline never falls down the board
    skills = [e["skill_vs_strongest"] for e in entries if e["skill_vs_strongest"] is not None]
    assert skills == sorted(skills)


def test_leaderboard_refuses_unknown_sessions_in_one_line(
    served: Served,
) -> None:
    srv, _, _ = served
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        one = c.get("/api/leaderboard", params={"sessions": BASELINE}).json()
        assert {e["session_id"] for e in one["entries"]} == {BASELINE}
        r = c.get("/api/leaderboard", params={"sessions": f"{BASELINE},nope"})
        assert r.status_code == 404
        assert "nope" in r.json()["detail"]
        assert "\n" not in r.json()["detail"]
        blank = c.get("/api/leaderboard", params={"sessions": " , "})
        assert blank.status_code == 400
        assert "sessions" in blank.json()["detail"]

"""``GET /api/evaluation?session=ID`` on a real server: the CLI's figures; unknown session 404."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import redirect_stdout

import httpx
import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import HOUR_MS, format_time

from .conftest import START, Server, seed_database, start_server, stop_server

SESSION = "eval-api"


@pytest.fixture(scope="module")
def replayed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Server, dict[str, object]]]:
    """Serve a database holding one replay; return the server and ``evaluate --json``."""
    tmp = tmp_path_factory.mktemp("evaluation")
    db = tmp / "ws.duckdb"
    seed_database(db)
    begin = START + 2 * 24 * HOUR_MS
    args = [
        "replay", "--db", str(db), "--symbol", "ETH/USDT", "--from", format_time(begin),
        "--to", format_time(begin + HOUR_MS), "--model", "persistence", "--mode", "none",
        "--timeframes", "1m", "--window", "1m=10", "--session", SESSION, "--json",
    ]  # fmt: skip
    assert main(args) == 0
    out = tmp / "evaluate.json"
    with out.open("w") as f, redirect_stdout(f):
        assert main(["evaluate", "--db", str(db), "--session", SESSION, "--json"]) == 0
    expected = json.loads(out.read_text())
    proc, srv = start_server(tmp)
    yield srv, expected
    stop_server(proc)


def test_evaluation_endpoint_answers_what_evaluate_prints(
    replayed: tuple[Server, dict[str, object]],
) -> None:
    srv, expected = replayed
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.get("/api/evaluation", params={"session": SESSION})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == expected
    pers = body["evaluation"]["persistence"]["1m"]
    assert pers["skill"]["close"]["vs_persistence"]["skill"] == 1.0
    assert "ETH/USDT" in pers["trading"]


def test_unknown_or_missing_session_is_a_one_line_answer(
    replayed: tuple[Server, dict[str, object]],
) -> None:
    srv, _ = replayed
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        r = c.get("/api/evaluation", params={"session": "no-such-session"})
        assert r.status_code == 404
        detail = r.json()["detail"]
        assert "no-such-session" in detail
        assert SESSION in detail  # it names the sessions there are
        assert "\n" not in detail
        missing = c.get("/api/evaluation")
        assert missing.status_code == 422
        assert "session" in missing.json()["detail"]

"""``POST /api/paper/reset`` on a real server: an account starts again, an unknown one is a 404."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore

from .conftest import START, Server, seed_database, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve a seeded database holding one paper account that lost money."""
    tmp = tmp_path_factory.mktemp("paper")
    path = tmp / "ws.duckdb"
    seed_database(path)
    with Database(path) as db:
        PaperStore(db).create("live-x", "1m", BrokerConfig().to_json(), 10_000.0, START)
        db.con.execute("UPDATE paper_accounts SET cash = 8320, equity = 8320, fills = 90")
        db.con.execute("INSERT INTO paper_equity VALUES ('live-x', ?, 8320.0, false)", [START])
    proc, srv = start_server(tmp)
    yield srv
    stop_server(proc)


def test_reset_starts_the_account_again(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.post("/api/paper/reset", json={"session_id": "live-x"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["session_id"], body["equity"], body["pnl"]) == ("live-x", 10_000.0, 0.0)
        assert (body["trades"], body["positions"], body["orders"]) == (0, [], [])


def test_reset_of_an_unknown_session_is_a_one_line_404(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.post("/api/paper/reset", json={"session_id": "nobody"})
        assert r.status_code == 404
        assert "'nobody' has no paper account" in r.json()["detail"]
        assert "\n" not in r.json()["detail"]
        assert client.post("/api/paper/reset", json={}).status_code == 422

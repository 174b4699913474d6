"""``PATCH /api/paper/settings`` on a real server: stored with the account, bad values refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore

from .conftest import START, Server, seed_database, start_server, stop_server

URL = "/api/paper/settings"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve a seeded database holding one paper account (min confidence 0.4, cooldown 10)."""
    tmp = tmp_path_factory.mktemp("paper-settings")
    path = tmp / "ws.duckdb"
    seed_database(path)
    with Database(path) as db:
        cfg = BrokerConfig(min_confidence=0.4, cooldown=10)
        PaperStore(db).create("live-x", "1m", cfg.to_json(), 10_000.0, START)
        db.con.execute("UPDATE paper_accounts SET cash = 9100, equity = 9100")
    proc, srv = start_server(tmp)
    yield srv
    stop_server(proc)


def test_settings_are_changed_and_kept(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.patch(URL, json={"session_id": "live-x", "min_confidence": 0.65, "cooldown": 3})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["min_confidence"], body["cooldown"]) == (0.65, 3)
        assert body["equity"] == 9100.0  # the money is untouched
        # one at a time: the other stays
        r = client.patch(URL, json={"session_id": "live-x", "cooldown": 0})
        assert (r.json()["min_confidence"], r.json()["cooldown"]) == (0.65, 0)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"min_confidence": 1.5}, 422, "field 'min_confidence'"),
        ({"min_confidence": -0.1}, 422, "field 'min_confidence'"),
        ({"cooldown": -2}, 422, "field 'cooldown'"),
        ({"cooldown": 2.5}, 422, "field 'cooldown'"),
        ({"cooldown": "soon"}, 422, "field 'cooldown'"),
        ({"fee_bps": 0}, 422, "field 'fee_bps'"),
        ({}, 400, "nothing to change"),
    ],
)
def test_bad_values_are_refused_in_one_line_and_change_nothing(
    server: Server, body: dict[str, object], status: int, words: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        before = client.patch(URL, json={"session_id": "live-x", "cooldown": 4}).json()
        r = client.patch(URL, json={"session_id": "live-x", **body})
        assert r.status_code == status, r.text
        detail = r.json()["detail"]
        assert words in detail
        assert "\n" not in detail
        after = client.patch(URL, json={"session_id": "live-x", "cooldown": 4}).json()
        assert after["min_confidence"] == before["min_confidence"]


def test_an_unknown_account_is_a_404(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        r = client.patch(URL, json={"session_id": "nobody", "cooldown": 1})
        assert r.status_code == 404
        assert "'nobody' has no paper account" in r.json()["detail"]

"""``GET /api/depth``: the newest stored book of a symbol, its top levels, and one-line refusals."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .conftest import Server, seed_database, start_server, stop_server
from .depth_seed import LEVELS, SYMBOL, seed_books


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve a database holding three books of ETH/USDT (and none of BTC/USDT)."""
    tmp = tmp_path_factory.mktemp("depth")
    seed_database(tmp / "ws.duckdb")
    seed_books(tmp / "ws.duckdb", (3000.0, 3010.0, 3020.0))
    proc, srv = start_server(tmp)
    yield srv
    stop_server(proc)


def test_the_newest_book_with_its_top_levels(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        body = c.get("/api/depth", params={"symbol": "eth/usdt"}).json()
        few = c.get("/api/depth", params={"symbol": SYMBOL, "levels": 5}).json()
    assert body["symbol"] == SYMBOL
    assert body["best_bid"] == 3019.5  # the newest of the three books
    assert body["best_ask"] == 3020.5
    assert body["spread"] == pytest.approx(1.0)
    assert len(body["bids"]) == len(body["asks"]) == 20 < LEVELS
    prices = [p for p, _ in body["bids"]]
    assert prices == sorted(prices, reverse=True)
    assert [p for p, _ in body["asks"]] == sorted(p for p, _ in body["asks"])
    assert body["bid_qty"] == pytest.approx(sum(q for _, q in body["bids"]))
    assert len(few["bids"]) == 5
    assert few["time"] == body["time"]


def test_no_book_or_bad_levels_is_one_line(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        r = c.get("/api/depth", params={"symbol": "BTC/USDT"})
        assert r.status_code == 404
        assert "BTC/USDT" in r.json()["detail"]
        assert "--depth" in r.json()["detail"]
        bad = c.get("/api/depth", params={"symbol": SYMBOL, "levels": 0})
        assert bad.status_code == 422
        assert "levels" in bad.json()["detail"]

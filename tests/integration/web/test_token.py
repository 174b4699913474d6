"""Beyond loopback the server wants a token for state-changing requests, and says so."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .conftest import START, Server, start_server, stop_server


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve on 0.0.0.0 with a token (clients still connect through 127.0.0.1)."""
    tmp = tmp_path_factory.mktemp("guarded")
    proc, srv = start_server(tmp, host="0.0.0.0", token="s3cret-token")
    yield srv
    stop_server(proc)
    log = (tmp / "server.log").read_text()
    assert "anyone who can reach it" in log


def test_writes_need_the_token_reads_do_not(guarded: Server) -> None:
    body = {
        "symbol": "ETH/USDT",
        "timeframe": "1m",
        "entry_time": START + 100 * 60_000,
        "exit_time": START + 110 * 60_000,
    }
    with httpx.Client(base_url=guarded.url, timeout=10) as c:
        assert c.get("/api/status").json()["token_required"] is True
        refused = c.post("/api/annotations", json=body)
        assert refused.status_code == 401
        assert "X-Ghostcandle-Token" in refused.json()["detail"]
        assert c.get("/api/annotations").json() == []
        wrong = c.post("/api/annotations", json=body, headers={"X-Ghostcandle-Token": "nope"})
        assert wrong.status_code == 401
        ok = c.post("/api/annotations", json=body, headers={"X-Ghostcandle-Token": "s3cret-token"})
        assert ok.status_code == 201, ok.text

"""Live sessions side by side through the HTTP API: ``?session_id=`` picks one for status,
predictions and stop (none: the newest), an unknown id is a one-line 404, and pushed
predictions name their session.

The exchange simulator is the real one on a real socket; ``ghostcandle serve`` streams from it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ghostcandle.domain.timeframes import HOUR_MS

from .conftest import Server, simulated_server

SYMBOL = "ETH/USDT"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The simulator and a workspace on it (an hour of history: the families' live configs
    read 30 1m candles)."""
    with simulated_server(
        tmp_path_factory.mktemp("sessions"), (SYMBOL,), seed=17, history_ms=HOUR_MS
    ) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    """A client once the feed is connected."""
    with httpx.Client(base_url=server.url, timeout=60) as c:
        deadline = time.monotonic() + 30
        while not (c.get("/api/live-training/status").json().get("feed") or {}).get("connected"):
            assert time.monotonic() < deadline, "the feed did not connect within 30 s"
            time.sleep(0.2)
        yield c


def _pushed_predictions(server: Server, want: set[str], timeout_s: float) -> set[str]:
    """Read the SSE stream until predictions of every session in ``want`` came; return the
    session ids the prediction events named."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    with httpx.stream("GET", server.url + "/api/events", timeout=20) as r:
        event = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "prediction":
                seen.add(json.loads(line.removeprefix("data: "))["session_id"])
            if want <= seen or time.monotonic() > deadline:
                break
    return seen


def _status(client: httpx.Client, sid: str | None = None) -> dict[str, Any]:
    params = {} if sid is None else {"session_id": sid}
    r = client.get("/api/live-training/status", params=params)
    assert r.status_code == 200, r.text
    st: dict[str, Any] = r.json()
    return st


def test_session_id_picks_the_session_and_the_newest_is_the_default(
    client: httpx.Client, server: Server
) -> None:
    a = client.post("/api/live-training/start", json={"symbol": SYMBOL, "model": "transformer"})
    b = client.post("/api/live-training/start", json={"symbol": SYMBOL, "model": "cnn"})
    assert (a.status_code, b.status_code) == (202, 202), b.text
    first, second = a.json()["session_id"], b.json()["session_id"]
    # each start answers its own session; the list names both
    assert (a.json()["model"], b.json()["model"]) == ("transformer", "cnn")
    assert [s["session_id"] for s in b.json()["sessions"]] == [first, second]
    assert _status(client)["session_id"] == second
    assert _status(client, first)["model"] == "transformer"

    # predictions pushed over SSE name their session; each one's are its own
    assert _pushed_predictions(server, {first, second}, 60) >= {first, second}
    for sid in (first, second):
        preds = client.get(
            "/api/live-training/predictions", params={"session_id": sid, "limit": 20}
        ).json()["predictions"]
        assert preds
        assert {p["session_id"] for p in preds} == {sid}

    # an unknown id: one line saying which ids there are, nothing changes
    for r in (
        client.get("/api/live-training/status", params={"session_id": "nope"}),
        client.post("/api/live-training/stop", params={"session_id": "nope"}),
        client.get("/api/live-training/predictions", params={"session_id": "nope"}),
    ):
        assert r.status_code == 404, r.text
        assert "no live session 'nope'" in r.json()["detail"]
        assert "\n" not in r.json()["detail"]
    assert [s["running"] for s in _status(client)["sessions"]] == [True, True]

    # stop by id: that one stops, the other runs on; the same id again is a 409
    stopped = client.post("/api/live-training/stop", params={"session_id": first})
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["session_id"], stopped.json()["state"]) == (first, "stopped")
    assert _status(client, second)["running"] is True
    again = client.post("/api/live-training/stop", params={"session_id": first})
    assert again.status_code == 409, again.text
    # stop naming none stops the newest
    assert client.post("/api/live-training/stop").json()["session_id"] == second
    assert [s["state"] for s in _status(client)["sessions"]] == ["stopped", "stopped"]

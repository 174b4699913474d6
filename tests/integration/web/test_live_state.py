"""The live session's state through the HTTP API: 409 for a move its state refuses (nothing
changes), and a start that fails shows ``failed`` with its reason.

The exchange simulator is the real one on a real socket; ``ghostcandle serve`` streams from it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for

from .conftest import Server, simulated_server

SYMBOL = "ETH/USDT"
#: What may change between two reads of the status without anything being done.
VOLATILE = ("feed", "cpu_percent", "gpu_percent", "metrics", "paper", "latest_signal", "signals")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Run the exchange simulator and a workspace connected to it (empty database).

    Three hours of history: the default live model reads 120 1m candles.
    """
    with simulated_server(
        tmp_path_factory.mktemp("state"), (SYMBOL,), seed=3, history_ms=3 * HOUR_MS
    ) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    """Return a client once the feed is connected; stop what the test left running."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        _wait_feed(c)
        yield c
        if _status(c)["running"]:
            c.post("/api/live-training/stop")


def _status(client: httpx.Client) -> dict[str, Any]:
    st: dict[str, Any] = client.get("/api/live-training/status").json()
    return st


def _fixed(st: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in st.items() if k not in VOLATILE}


def _wait_feed(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        feed = _status(client).get("feed")
        if feed and feed.get("connected"):
            return
        time.sleep(0.2)
    raise AssertionError("the feed did not connect to the simulator within 30 s")


def _refused(r: httpx.Response, words: str) -> None:
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert words in detail
    assert "\n" not in detail


def test_stop_when_stopped_and_start_when_running_get_409_and_change_nothing(
    client: httpx.Client,
) -> None:
    before = _status(client)
    assert before["running"] is False
    _refused(client.post("/api/live-training/stop"), "nothing to stop")
    assert _fixed(_status(client)) == _fixed(before)

    r = client.post("/api/live-training/start", json={"symbol": SYMBOL, "mode": "none"})
    assert r.status_code == 202, r.text
    started = r.json()
    assert (started["state"], started["state_reason"], started["running"]) == (
        "running",
        None,
        True,
    )
    running = _status(client)
    _refused(
        client.post("/api/live-training/start", json={"symbol": SYMBOL, "mode": "manual"}),
        "already runs",
    )
    assert _fixed(_status(client)) == _fixed(running)  # same session, same mode, still running

    stopped = client.post("/api/live-training/stop")
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["state"], stopped.json()["running"]) == ("stopped", False)
    after = _status(client)
    _refused(client.post("/api/live-training/stop"), "it is stopped")
    assert _fixed(_status(client)) == _fixed(after)


def test_a_start_that_fails_shows_failed_with_its_reason(
    client: httpx.Client, server: Server
) -> None:
    body = {"symbol": SYMBOL, "mode": "manual"}
    r = client.post("/api/live-training/start", json=body)
    assert r.status_code == 202, r.text
    sid = r.json()["session_id"]
    # one manual step, so that the stop checkpoints the session's weights
    deadline = time.monotonic() + 30
    label = client.post("/api/realtime-inference/train-manual", json={"action": "BUY"})
    while label.status_code == 404 and time.monotonic() < deadline:  # no candle closed yet
        time.sleep(0.2)
        label = client.post("/api/realtime-inference/train-manual", json={"action": "BUY"})
    assert label.status_code == 200, label.text
    assert client.post("/api/live-training/stop").status_code == 200
    ckpts = checkpoint_dir_for(server.db_path) / sid
    assert any(ckpts.iterdir())
    shutil.rmtree(ckpts)  # the checkpoint its progress references is gone

    r = client.post("/api/live-training/start", json=body)
    assert r.status_code == 404, r.text
    detail = r.json()["detail"]
    assert "missing" in detail
    st = _status(client)
    assert (st["state"], st["state_reason"], st["running"]) == ("failed", detail, False)
    assert st["session_id"] == sid
    _refused(client.post("/api/live-training/stop"), "it is failed")
    assert _status(client)["state"] == "failed"

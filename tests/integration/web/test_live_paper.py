"""Live mode through the HTTP API on the exchange simulator: paper trading and starting points.

The simulator is the real one on a real socket and ``ghostcandle serve`` connects to it as to
Binance. The paper account is read from the pushed ``live`` events (Server-Sent Events), and
checked against the candles the API serves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from .conftest import Server, simulated_server

SYMBOL = "ETH/USDT"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Run the exchange simulator and a workspace connected to it (empty database)."""
    with simulated_server(tmp_path_factory.mktemp("live"), (SYMBOL,), seed=7) as srv:
        yield srv


def _wait_pushed(
    server: Server, kind: str, done: Callable[[dict[str, Any]], bool], timeout_s: float
) -> dict[str, Any]:
    """Read the SSE stream until an event of ``kind`` satisfies ``done``; return its data."""
    deadline = time.monotonic() + timeout_s
    with httpx.stream("GET", server.url + "/api/events", timeout=20) as r:
        event = ""
        for line in r.iter_lines():
            if time.monotonic() > deadline:
                break
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == kind:
                data: dict[str, Any] = json.loads(line.removeprefix("data: "))
                if done(data):
                    return data
    raise AssertionError(f"no pushed {kind} event met the condition within {timeout_s} s")


def _wait_feed(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        feed = client.get("/api/live-training/status").json().get("feed")
        if feed and feed.get("connected"):
            return
        time.sleep(0.2)
    raise AssertionError("the feed did not connect to the simulator within 30 s")


def _candle(client: httpx.Client, timeframe: str, open_time: int) -> dict[str, Any]:
    page = client.get(
        "/api/candles",
        params={"symbol": SYMBOL, "timeframe": timeframe, "before": open_time + 1, "limit": 1},
    ).json()
    (c,) = page["candles"]
    assert c["time"] == open_time
    return dict(c)


def _traded(data: dict[str, Any]) -> bool:
    p = data.get("paper")
    return bool(data.get("running") and p and (p["positions"] or p["trades"]))


def test_live_signals_trade_on_paper_and_the_account_is_pushed(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        _wait_feed(client)
        # the transformer trades from fresh weights (the default model abstains until sure)
        body = {"symbol": SYMBOL, "mode": "none", "model": "transformer"}
        r = client.post("/api/live-training/start", json=body)
        assert r.status_code == 202, r.text
        started = r.json()
        assert started["paper"]["trades"] == 0
        assert started["paper"]["positions"] == []
        assert started["paper"]["equity"] == started["paper"]["initial_equity"]

        live = _wait_pushed(server, "live", _traded, timeout_s=60)
        paper = live["paper"]
        assert paper["session_id"] == live["session_id"]
        assert paper["timeframe"] == live["timeframes"][0] == "1s"
        assert paper["pnl"] == pytest.approx(paper["equity"] - paper["initial_equity"])
        assert 0.0 <= paper["win_rate"] <= 1.0
        # a position is entered at the open of the candle after the signal (next_open fills)
        pos = (paper["positions"] or [None])[0]
        if pos is not None:
            assert pos["side"] in ("LONG", "SHORT")
            assert pos["entry_price"] == _candle(client, "1s", pos["entry_time"])["open"]
            # marked at the close of the last candle the account handled
            assert pos["last_price"] == _candle(client, "1s", paper["last_time"] - 1000)["close"]
            signal = {"LONG": "BUY", "SHORT": "SELL"}[pos["side"]]
            preds = client.get("/api/live-training/predictions?limit=500").json()["predictions"]
            decided = [
                p
                for p in preds
                if p["model"] == live["model"]
                and p["timeframe"] == "1s"
                and p["time"] == pos["entry_time"]
            ]
            assert decided
            assert decided[0]["action"] == signal
        for t in paper["recent_trades"]:
            assert t["exit_price"] == _candle(client, "1s", t["exit_time"])["open"]

        # GET status carries the same account; it outlives the session once stopped
        stopped = client.post("/api/live-training/stop").json()
        assert stopped["running"] is False
        assert stopped["paper"]["session_id"] == live["session_id"]
        assert stopped["paper"]["trades"] >= paper["trades"]


def test_live_starts_from_the_annotation_trained_checkpoint(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        _wait_feed(client)
        body = {
            "symbol": SYMBOL,
            "mode": "none",
            "model": "transformer",
            "start_from": "annotations",
        }
        r = client.post("/api/live-training/start", json=body)
        assert r.status_code == 404
        assert "no annotation-trained checkpoint of transformer" in r.json()["detail"]
        assert client.get("/api/live-training/status").json()["running"] is False
        bad = client.post("/api/live-training/start", json={**body, "start_from": "last-week"})
        assert bad.status_code == 422

        # annotate three 1s trades on stored history and train on them, as the panels do
        newest = client.get(
            "/api/candles", params={"symbol": SYMBOL, "timeframe": "1s", "limit": 1}
        ).json()["candles"][0]["time"]
        for k, side in enumerate(("LONG", "SHORT", "LONG")):
            entry = newest - (300 - 60 * k) * 1000
            a = client.post(
                "/api/annotations",
                json={
                    "symbol": SYMBOL,
                    "timeframe": "1s",
                    "entry_time": entry,
                    "exit_time": entry + 20_000,
                    "direction": side,
                },
            )
            assert a.status_code in (200, 201), a.text
        t = client.post("/api/train-model", json={"model": "transformer", "epochs": 3})
        assert t.status_code == 202, t.text
        deadline = time.monotonic() + 120
        state = t.json()
        while state.get("status") == "running" and time.monotonic() < deadline:
            time.sleep(0.3)
            state = client.get("/api/train-model/status").json()
        assert state["status"] == "completed", state

        r = client.post("/api/live-training/start", json=body)
        assert r.status_code == 202, r.text
        st = r.json()
        ckpt = st["checkpoint"]
        assert st["start_from"] == "annotations"
        assert ckpt["key"] == "annotations-transformer"
        assert ckpt["path"] == state["checkpoint"]
        assert ckpt["step"] == 3
        # the session's published weights are the checkpoint's (a fresh model is at step 0)
        assert st["model_version"] == ckpt["version"]
        assert st["timeframes"] == ckpt["timeframes"]
        assert "-ann-" in st["session_id"]
        assert st["paper"]["session_id"] == st["session_id"]
        assert client.post("/api/live-training/stop").json()["running"] is False

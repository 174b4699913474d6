"""Live sessions predicting the timeframes the trader picks, hourly ones included.

A real simulator streams 1s-1d candles with an hour about to close (``hour_feed``); a session
predicting 1m and 1h makes its hourly prediction at that close, pushes it over SSE and serves
it per timeframe; a daily window the history cannot fill is refused in one line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import Server
from .hour_feed import SYMBOL, hourly_server


@pytest.fixture(scope="module")
def hourly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int]]:
    """The workspace on an hourly feed, and the time its next hour closes."""
    with hourly_server(tmp_path_factory.mktemp("hourly")) as got:
        yield got


def _wait_feed(client: httpx.Client) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        st = client.get("/api/status").json()
        have = {(s["symbol"], s["timeframe"]) for s in st.get("series", [])}
        feed = client.get("/api/live-training/status").json().get("feed")
        if feed and feed.get("connected") and (SYMBOL, "1h") in have:
            return
        time.sleep(0.3)
    raise AssertionError("the feed did not load its hourly history within 40 s")


def _pushed_prediction(server: Server, timeframe: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    with httpx.stream("GET", server.url + "/api/events", timeout=timeout_s + 5) as r:
        event = ""
        for line in r.iter_lines():
            if time.monotonic() > deadline:
                break
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "prediction":
                data: dict[str, Any] = json.loads(line.removeprefix("data: "))
                if data["timeframe"] == timeframe and data["model"] == "transformer":
                    return data
    raise AssertionError(f"no {timeframe} prediction was pushed within {timeout_s} s")


def test_a_daily_window_the_history_cannot_fill_is_refused_in_one_line(
    hourly: tuple[Server, int],
) -> None:
    server, _ = hourly
    with httpx.Client(base_url=server.url, timeout=20) as client:
        _wait_feed(client)
        r = client.post(
            "/api/live-training/start",
            json={"symbol": SYMBOL, "model": "transformer", "timeframes": ["1m", "1d"]},
        )
        assert r.status_code == 404, r.text
        detail = r.json()["detail"]
        assert "30 closed 1d candles" in detail
        assert "\n" not in detail
        assert "drop those timeframes" in detail
        # nothing runs; an unknown timeframe is a field error
        assert client.get("/api/live-training/status").json()["running"] is False
        bad = client.post("/api/live-training/start", json={"symbol": SYMBOL, "timeframes": ["2h"]})
        assert bad.status_code == 422


def test_an_hourly_prediction_is_made_pushed_and_served_per_timeframe(
    hourly: tuple[Server, int],
) -> None:
    server, hour_close = hourly
    with httpx.Client(base_url=server.url, timeout=20) as client:
        _wait_feed(client)
        body = {"symbol": SYMBOL, "model": "transformer", "timeframes": ["1h", "1m"]}
        r = client.post("/api/live-training/start", json=body)
        assert r.status_code == 202, r.text
        st = r.json()
        assert st["timeframes"] == ["1m", "1h"]
        # other timeframes than the family's usual ones: a session (and account) of their own
        assert st["session_id"] == "live-transformer-ETHUSDT-1m-1h"
        assert st["paper"]["timeframe"] == "1m"
        pushed = _pushed_prediction(server, "1h", timeout_s=150)
        # made at the hour's close, for the next hour
        assert pushed["time"] == hour_close
        assert pushed["target_time"] == hour_close
        served = client.get(
            "/api/live-training/predictions", params={"timeframe": "1h", "limit": 20}
        ).json()["predictions"]
        assert served
        assert {p["timeframe"] for p in served} == {"1h"}
        assert pushed["id"] in {p["id"] for p in served}
        # a BUY or SELL of the hour is a signal beside the minutes' ones
        status = client.get("/api/live-training/status").json()
        hourly_signals = [s for s in status["signals"] if s["timeframe"] == "1h"]
        if pushed["action"] in ("BUY", "SELL"):
            assert [s["id"] for s in hourly_signals] == [pushed["id"]]
        else:
            assert hourly_signals == []
        assert client.post("/api/live-training/stop").status_code == 200

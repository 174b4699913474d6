"""Which model live inference runs: the server's default (``default_live`` of ``/api/models``)
and every learning model the live panel's picker offers, each with its own live config.

The exchange simulator is the real one on a real socket; ``ghostcandle serve`` streams from it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.engine.runtime import DEFAULT_LIVE_MODEL

from .conftest import Server, simulated_server

SYMBOL = "ETH/USDT"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Run the exchange simulator and a workspace connected to it (empty database).

    Three hours of history: the default model reads 120 1m candles.
    """
    with simulated_server(
        tmp_path_factory.mktemp("models"), (SYMBOL,), seed=5, history_ms=3 * HOUR_MS
    ) as srv:
        yield srv


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    """Return a client once the feed is connected; stop what the test left running."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        deadline = time.monotonic() + 30
        while not (_status(c).get("feed") or {}).get("connected"):
            assert time.monotonic() < deadline, "the feed did not connect within 30 s"
            time.sleep(0.2)
        yield c
        if _status(c)["running"]:
            c.post("/api/live-training/stop")


def _status(client: httpx.Client) -> dict[str, Any]:
    st: dict[str, Any] = client.get("/api/live-training/status").json()
    return st


def _learning(client: httpx.Client) -> list[str]:
    return [m["name"] for m in client.get("/api/models").json()["models"] if m["learns"]]


def test_models_name_the_default_live_model_and_a_start_naming_none_runs_it(
    client: httpx.Client,
) -> None:
    models = client.get("/api/models").json()
    assert models["default_live"] == DEFAULT_LIVE_MODEL
    assert DEFAULT_LIVE_MODEL in _learning(client)
    # the field is part of the documented response
    api = client.get("/openapi.json").json()
    ok = api["paths"]["/api/models"]["get"]["responses"]["200"]["content"]["application/json"]
    name = ok["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "default_live" in api["components"]["schemas"][name]["properties"]

    r = client.post("/api/live-training/start", json={"symbol": SYMBOL, "mode": "none"})
    assert r.status_code == 202, r.text
    assert (r.json()["model"], r.json()["state"]) == (DEFAULT_LIVE_MODEL, "running")
    # it predicts the live 1s candles with its own live config
    deadline = time.monotonic() + 60
    mine: list[dict[str, Any]] = []
    while not mine and time.monotonic() < deadline:
        time.sleep(0.5)
        preds = client.get("/api/live-training/predictions?limit=50").json()["predictions"]
        mine = [p for p in preds if p["model"] == DEFAULT_LIVE_MODEL and p["timeframe"] == "1s"]
    assert mine, f"{DEFAULT_LIVE_MODEL} made no 1s prediction within 60 s"
    assert client.post("/api/live-training/stop").status_code == 200


def test_every_learning_model_the_picker_offers_starts_live_without_a_config(
    client: httpx.Client,
) -> None:
    started = []
    for name in _learning(client):
        r = client.post(
            "/api/live-training/start", json={"symbol": SYMBOL, "mode": "none", "model": name}
        )
        if r.status_code == 404 and "order book" in r.json()["detail"]:
            # a model reading the order book, none stored here: refused in one line
            assert "\n" not in r.json()["detail"]
            assert _status(client)["running"] is False
            continue
        assert r.status_code == 202, f"{name}: {r.text}"
        st = r.json()
        assert (st["model"], st["state"], st["timeframes"]) == (name, "running", ["1s", "1m"])
        started.append(name)
        stopped = client.post("/api/live-training/stop")
        assert stopped.status_code == 200, stopped.text
    # the candle models each start with their own live config
    assert {DEFAULT_LIVE_MODEL, "transformer", "cnn"} <= set(started)

"""Inputs at the edges of what the schema takes get a 4xx naming the field, never a 500.

Times up to the schema's own maximum (2^53 ms, past year 9999), imports with absurd holding
periods or timestamps, a corrupt checkpoint to start from, and long inputs: each is refused in
one short line, and nothing is changed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .checkpoints import CORRUPTIONS, corrupt_annotation_checkpoint
from .conftest import START, Server, simulated_server, start_server, stop_server

M = 60_000
BIG = 2**53
TRADE = {
    "symbol": "ETH/USDT",
    "timeframe": "1m",
    "entry_time": START + 400 * M,
    "exit_time": START + 430 * M,
}


def _refused(r: httpx.Response, field: str) -> str:
    """Assert a 4xx whose one-line detail names ``field``; return the detail."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    detail = r.json()["detail"]
    assert isinstance(detail, str)
    assert "\n" not in detail
    assert field in detail, detail
    assert len(detail) <= 600, len(detail)
    return detail


def _count(c: httpx.Client) -> int:
    return len(c.get("/api/annotations").json())


@pytest.fixture(scope="module")
def ann_id(server: Server) -> str:
    """Create one ordinary annotation to patch."""
    r = httpx.post(server.url + "/api/annotations", json=TRADE, timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()["annotation_id"])


@pytest.mark.parametrize(
    ("entry", "exit_"),
    [(BIG - 30 * M, BIG), (BIG, BIG), (BIG - 2 * M, BIG - M), (START + 10 * M, BIG)],
)
def test_annotation_times_up_to_the_schema_maximum(
    client: httpx.Client, entry: int, exit_: int
) -> None:
    before = _count(client)
    body = {**TRADE, "entry_time": entry, "exit_time": exit_}
    r = client.post("/api/annotations", json=body)
    _refused(r, "_time")
    assert _count(client) == before


@pytest.mark.parametrize("field", ["entry_time", "exit_time"])
@pytest.mark.parametrize("value", [BIG, BIG - M, 253_402_300_740_000])
def test_patching_a_time_past_year_9999(
    client: httpx.Client, ann_id: str, field: str, value: int
) -> None:
    before = client.get(f"/api/annotations/{ann_id}").json()
    r = client.patch(f"/api/annotations/{ann_id}", json={field: value})
    _refused(r, field)
    assert client.get(f"/api/annotations/{ann_id}").json() == before


@pytest.mark.parametrize(("start", "end"), [(BIG - 1, BIG), (START, BIG), (BIG - 2, BIG - 1)])
def test_a_backtest_at_the_schema_maximum(client: httpx.Client, start: int, end: int) -> None:
    body = {"model": "excursion_mlp", "symbol": "ETH/USDT", "start": start, "end": end}
    r = client.post("/api/backtest", json=body)
    _refused(r, "'")
    assert client.get("/api/backtest/status").json()["status"] == "idle"


def _case(client: httpx.Client, ann_id: str) -> dict[str, Any]:
    cases = client.get("/api/test-cases/export").json()["test_cases"]
    return next(c for c in cases if c["annotation"]["annotation_id"] == ann_id)


def _import(client: httpx.Client, cases: list[dict[str, Any]]) -> httpx.Response:
    # json.dumps writes NaN and Infinity as JavaScript does; so may a client
    return client.post(
        "/api/test-cases/import",
        content=json.dumps({"test_cases": cases}),
        headers={"Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    "holding", [float("nan"), float("inf"), float("-inf"), 1e300, 1e15, -60.0, "soon"]
)
def test_an_import_with_an_absurd_holding_period(
    client: httpx.Client, ann_id: str, holding: Any
) -> None:
    before = _count(client)
    good = _case(client, ann_id)
    bad = copy.deepcopy(good)
    bad["expected_outcome"]["holding_period_seconds"] = holding
    _refused(_import(client, [good, bad]), "holding_period_seconds")
    assert _count(client) == before


@pytest.mark.parametrize(
    "stamp", ["9999999999999999999", "-5", "9999-12-31T23:59:00Z", str(BIG), "x" * 100_000]
)
def test_an_import_with_an_absurd_timestamp(client: httpx.Client, ann_id: str, stamp: str) -> None:
    before = _count(client)
    bad = copy.deepcopy(_case(client, ann_id))
    bad["timestamp"] = stamp
    _refused(_import(client, [bad]), "timestamp")
    assert _count(client) == before


def test_long_input_is_not_echoed_whole(client: httpx.Client) -> None:
    before = _count(client)
    _refused(client.post("/api/annotations", json={**TRADE, "symbol": "E" * 200_000}), "symbol")
    assert _count(client) == before


def test_an_import_beyond_the_size_limit_is_refused_in_one_line(
    client: httpx.Client, ann_id: str
) -> None:
    before = _count(client)
    case = _case(client, ann_id)
    size = len(json.dumps(case))
    cases = [case] * (40 * 2**20 // size + 1)  # just over 40 MiB
    r = _import(client, cases)
    assert r.status_code == 413
    assert "MiB" in r.json()["detail"]
    assert _count(client) == before


@pytest.fixture(scope="module")
def corrupt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose database has an annotation-trained checkpoint we spoil per test."""
    proc, srv = start_server(tmp_path_factory.mktemp("corrupt"))
    yield srv
    stop_server(proc)


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_a_backtest_from_a_corrupt_checkpoint(corrupt_server: Server, kind: str) -> None:
    corrupt_annotation_checkpoint(Path(corrupt_server.db_path), "excursion_mlp", kind)
    body = {
        "model": "excursion_mlp",
        "symbol": "ETH/USDT",
        "start": START + 600 * M,
        "end": START + 720 * M,
        "start_from": "annotations",
    }
    r = httpx.post(corrupt_server.url + "/api/backtest", json=body, timeout=60)
    _refused(r, "start_from")
    status = httpx.get(corrupt_server.url + "/api/backtest/status").json()
    assert status["status"] == "idle"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server streaming from the exchange simulator, so live sessions can start."""
    with simulated_server(tmp_path_factory.mktemp("live"), ("ETH/USDT",), seed=5) as srv:
        yield srv


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_a_live_start_from_a_corrupt_checkpoint(live_server: Server, kind: str) -> None:
    corrupt_annotation_checkpoint(Path(live_server.db_path), "excursion_mlp", kind)
    body = {"model": "excursion_mlp", "start_from": "annotations"}
    r = httpx.post(live_server.url + "/api/live-training/start", json=body, timeout=60)
    _refused(r, "start_from")
    state = httpx.get(live_server.url + "/api/live-training/status").json()
    assert state["state"] is None, state  # no session was made

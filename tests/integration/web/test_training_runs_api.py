"""``/api/training-runs``: a real server lists the runs recorded in its database, with curves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.training.annotation_training import train_on_annotations
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

from .conftest import START, seed_database, start_server, stop_server

EPOCHS = 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, str]]:
    """Serve a database holding one recorded annotation training; yield a client and its id."""
    tmp = tmp_path_factory.mktemp("runs")
    db_path = tmp / "ws.duckdb"
    seed_database(db_path)
    clock = LiveClock()
    with Database(db_path) as db:
        store = AnnotationStore(db, CandleStore(db), tmp / "test_cases", clock)
        for e, x, d in ((300, 330, "LONG"), (400, 420, "SHORT"), (500, 540, "LONG")):
            store.create(
                "ETH/USDT", "1m", START + e * MINUTE_MS, START + x * MINUTE_MS, direction=d
            )
        result = train_on_annotations(db, store, "cnn", EPOCHS, store.list(), clock=clock)
    assert result.run_id is not None
    proc, srv = start_server(tmp)
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as client:
            yield client, result.run_id
    finally:
        stop_server(proc)


def test_the_list_holds_the_recorded_run(trained: tuple[httpx.Client, str]) -> None:
    client, run_id = trained
    r = client.get("/api/training-runs")
    assert r.status_code == 200
    runs = {x["run_id"]: x for x in r.json()["runs"]}
    assert run_id in runs
    got = runs[run_id]
    assert got["kind"] == "annotations"
    assert got["model"] == "cnn"
    assert got["status"] == "finished"
    assert got["steps"] == EPOCHS
    assert got["convergence"] in ("improving", "plateau", "diverging")
    assert client.get("/api/training-runs", params={"kind": "offline"}).json()["runs"] == []
    assert client.get("/api/training-runs", params={"kind": "bogus"}).status_code == 422


def test_a_run_comes_with_its_curves_and_steps(
    trained: tuple[httpx.Client, str], tmp_path: Path
) -> None:
    client, run_id = trained
    r = client.get(f"/api/training-runs/{run_id}")
    assert r.status_code == 200
    body = r.json()
    assert [p[0] for p in body["train_curve"]] == list(range(1, EPOCHS + 1))
    steps = body["last_steps"]
    assert [s["step"] for s in steps] == list(range(1, EPOCHS + 1))
    # the curve is the steps' own losses, in order
    assert [p[1] for p in body["train_curve"]] == [s["losses"]["loss"] for s in steps]
    assert body["recorded_steps"] == EPOCHS
    assert body["samples"]["samples"] == 3
    assert "1m" in body["model_config"]["timeframes"]
    assert body["source"]["kind"] == "annotations"
    assert all(s["hash_before"] != s["hash_after"] for s in steps)


def test_an_unknown_run_is_404_in_one_line(trained: tuple[httpx.Client, str]) -> None:
    client, _ = trained
    r = client.get("/api/training-runs/annotations-000000000000")
    assert r.status_code == 404
    assert "no training run" in r.json()["detail"]
    assert client.get("/api/training-runs/..%2Fetc").status_code in (404, 422)


def test_openapi_documents_the_training_runs(trained: tuple[httpx.Client, str]) -> None:
    client, _ = trained
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/training-runs" in paths
    assert "/api/training-runs/{run_id}" in paths

"""The HTTP API of a real ``ghostcandle serve``: candles, annotations, test cases, errors."""

from __future__ import annotations

import json

import httpx
import numpy as np

from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import MINUTE_MS, close_time

from .conftest import DAYS, START, Server

# the seeded market, recomputed independently of the server
MARKET = synthetic_candles(DAYS * 1440, "1m", start_ms=START, seed=11)
CLOSE = dict(zip(MARKET["open_time"].tolist(), MARKET["close"].tolist(), strict=True))


def test_candles_page_back_through_history_without_overlap(client: httpx.Client) -> None:
    first = client.get(
        "/api/candles", params={"symbol": "ethusdt", "timeframe": "1m", "limit": 500}
    )
    assert first.status_code == 200
    page = first.json()
    times = [c["time"] for c in page["candles"]]
    assert times[-1] == START + (DAYS * 1440 - 1) * MINUTE_MS
    assert times == sorted(times)
    assert len(times) == 500
    assert page["has_more"]
    older = client.get(
        "/api/candles",
        params={"symbol": "ETH/USDT", "timeframe": "1m", "limit": 5000, "before": times[0]},
    ).json()
    assert older["candles"][-1]["time"] == times[0] - MINUTE_MS
    assert older["candles"][0]["time"] == START
    assert not older["has_more"]
    assert older["candles"][0]["close"] == CLOSE[START]


def test_create_annotation_computes_trade_and_writes_test_case(
    client: httpx.Client, server: Server
) -> None:
    entry = START + 2000 * MINUTE_MS
    exit_ = entry + 45 * MINUTE_MS
    r = client.post(
        "/api/annotations",
        json={"symbol": "ETH/USDT", "timeframe": "1m", "entry_time": entry, "exit_time": exit_},
    )
    assert r.status_code == 201, r.text
    ann = r.json()
    e, x = CLOSE[entry], CLOSE[exit_]
    assert ann["entry_price"] == e
    assert ann["exit_price"] == x
    assert ann["direction"] == ("LONG" if x >= e else "SHORT")
    sign = 1 if ann["direction"] == "LONG" else -1
    assert np.isclose(ann["profit_loss_pct"], sign * (x - e) / e * 100)
    assert ann["holding_period_seconds"] == 45 * 60

    path = server.data_dir / f"annotation_{ann['annotation_id']}.json"
    case = json.loads(path.read_text())
    assert case["test_case_id"] == f"annotation_{ann['annotation_id']}"
    assert case["action"] == ("BUY" if ann["direction"] == "LONG" else "SELL")
    assert case["expected_outcome"]["entry_price"] == e
    m1 = case["market_state"]["ohlcv_1m"]
    assert len(m1["close"]) == 100
    # the last 1m candle of the state is the entry candle itself: closed at the decision time
    assert m1["close"][-1] == e
    assert m1["close"][0] == CLOSE[entry - 99 * MINUTE_MS]
    for key in ("timestamps", "open", "high", "low", "close", "volume"):
        assert len(m1[key]) == 100
    # no look-ahead: every 1h/1d candle of the state closed by the decision time
    decision = close_time(entry, "1m")
    for tf in ("1h", "1d"):
        frame_windows = {w[0]: w for w in case["frame"]["windows"]}
        if tf in frame_windows:
            assert close_time(frame_windows[tf][1], tf) <= decision
    assert case["market_state"]["ohlcv_1s"]["close"] == []  # no 1s candles are stored

    # the API materialises the same test case from the frame reference
    again = client.get(f"/api/test-cases/annotation_{ann['annotation_id']}").json()
    assert again == case


def test_update_and_delete_annotation(client: httpx.Client, server: Server) -> None:
    entry = START + 3000 * MINUTE_MS
    ann = client.post(
        "/api/annotations",
        json={
            "symbol": "ETH/USDT",
            "timeframe": "1m",
            "entry_time": entry,
            "exit_time": entry + 10 * MINUTE_MS,
            "notes": "breakout",
        },
    ).json()
    aid = ann["annotation_id"]
    moved = client.patch(
        f"/api/annotations/{aid}", json={"exit_time": entry + 30 * MINUTE_MS, "notes": "held"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["exit_price"] == CLOSE[entry + 30 * MINUTE_MS]
    case = json.loads((server.data_dir / f"annotation_{aid}.json").read_text())
    assert case["expected_outcome"]["holding_period_seconds"] == 30 * 60
    assert case["annotation"]["notes"] == "held"

    assert client.delete(f"/api/annotations/{aid}").status_code == 204
    assert not (server.data_dir / f"annotation_{aid}.json").exists()
    gone = client.get(f"/api/annotations/{aid}")
    assert gone.status_code == 404
    assert aid in gone.json()["detail"]


def test_export_then_import_round_trips(client: httpx.Client) -> None:
    entry = START + 1000 * MINUTE_MS
    made = client.post(
        "/api/annotations",
        json={
            "symbol": "ETH/USDT",
            "timeframe": "1m",
            "entry_time": entry,
            "exit_time": entry + 5 * MINUTE_MS,
            "direction": "SHORT",
        },
    ).json()
    exported = client.get("/api/test-cases/export").json()["test_cases"]
    mine = [c for c in exported if c["annotation"]["annotation_id"] == made["annotation_id"]]
    assert len(mine) == 1
    imported = client.post("/api/test-cases/import", json={"test_cases": mine})
    assert imported.status_code == 201, imported.text
    (twin,) = imported.json()
    assert twin["annotation_id"] != made["annotation_id"]
    for key in ("entry_time", "exit_time", "entry_price", "exit_price", "direction"):
        assert twin[key] == made[key]


def test_bad_import_names_the_case_and_imports_nothing(client: httpx.Client) -> None:
    before = len(client.get("/api/annotations").json())
    good = client.get("/api/test-cases/export").json()["test_cases"][0]
    bad = {**good, "expected_outcome": {**good["expected_outcome"], "entry_price": 1.0}}
    r = client.post("/api/test-cases/import", json={"test_cases": [good, bad]})
    assert r.status_code == 400
    assert "test case #2" in r.json()["detail"]
    assert "entry_price" in r.json()["detail"]
    assert len(client.get("/api/annotations").json()) == before


def test_bad_requests_name_the_field_and_change_nothing(client: httpx.Client) -> None:
    before = client.get("/api/annotations").json()
    r = client.post(
        "/api/annotations",
        json={"symbol": "ETH/USDT", "timeframe": "7m", "entry_time": 0, "exit_time": 1},
    )
    assert r.status_code == 422
    assert "field 'timeframe'" in r.json()["detail"]
    r = client.post(
        "/api/annotations",
        json={
            "symbol": "ETH/USDT",
            "timeframe": "1m",
            "entry_time": START + 50 * MINUTE_MS,
            "exit_time": START + 10 * MINUTE_MS,
        },
    )
    assert r.status_code == 400
    assert "exit candle must come after" in r.json()["detail"]
    r = client.post(
        "/api/annotations",
        json={
            "symbol": "ETH/USDT",
            "timeframe": "1m",
            "entry_time": START - 10 * MINUTE_MS,
            "exit_time": START + 10 * MINUTE_MS,
        },
    )
    assert r.status_code == 404
    assert "no 1m candle" in r.json()["detail"]
    r = client.post("/api/annotations", json={"symbol": "not a symbol", "timeframe": "1m"})
    assert r.status_code == 422
    assert "field 'symbol'" in r.json()["detail"]
    r = client.post("/api/train-model", json={"model": "x", "epochs": 0})
    assert r.status_code == 422
    assert "field 'epochs'" in r.json()["detail"]
    assert client.get("/api/annotations").json() == before


def test_ids_in_paths_cannot_reach_the_file_system(client: httpx.Client) -> None:
    for bad in ("..%2F..%2Fetc%2Fpasswd", "ABCDEF123456", "annotation_x"):
        assert client.get(f"/api/annotations/{bad}").status_code in (404, 422)
        assert client.get(f"/api/test-cases/{bad}").status_code in (404, 422)
    r = client.delete("/api/annotations/0123456789ab")
    assert r.status_code == 404


def test_openapi_documents_the_seed_endpoints(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for p in (
        "/api/live-training/start",
        "/api/live-training/stop",
        "/api/live-training/status",
        "/api/live-training/predictions",
        "/api/train-model",
        "/api/backtest",
        "/api/realtime-inference/train-manual",
        "/api/candles",
        "/api/annotations",
        "/api/test-cases/export",
        "/api/models",
    ):
        assert p in paths, p


def test_page_and_vendored_chart_library_are_served_locally(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "/static/js/main.js" in page.text
    lib = client.get("/vendor/lightweight-charts.standalone.production.mjs")
    assert lib.status_code == 200
    assert "createChart" in lib.text


def test_status_reports_the_database_memory_and_its_bound(client: httpx.Client) -> None:
    from ghostcandle.store.db import memory_limit, size_bytes

    got = client.get("/api/status").json()["database"]
    bound = size_bytes(memory_limit())  # the server inherits this process's environment
    assert abs(got["limit"] - bound) <= 0.01 * bound
    assert 0 < got["bytes"] <= got["limit"]
    assert got["wal_bytes"] >= 0
    assert 0 <= got["dead_queue_nodes"] <= got["queue_nodes"]
    keeper = got["cache_keeper"]  # trims DuckDB's cache to a quarter of the bound
    assert abs(keeper["keep_bytes"] - bound / 4) <= 0.01 * bound
    assert keeper["trims"] >= 0
    assert keeper["freed_bytes"] >= 0

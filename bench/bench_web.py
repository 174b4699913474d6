"""Workspace speed: candle pages and annotation saves through a real ``ghostcandle serve``.

Prints one JSON line; ``candles_page_vs_store`` is the HTTP page time over a direct store read
of the same rows (the baseline, measured in the same run); ``annotation_save_vs_http_floor`` is
an annotation's save over the floor of any request, ``GET /api/status``, in the same run.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, MINUTE_MS
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.rollups import rollup_range

START = 1_709_251_200_000
DAYS = 30


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    db_path = tmp / "bench.duckdb"
    with Database(db_path) as db:
        store = CandleStore(db)
        df = synthetic_candles(DAYS * 1440, "1m", start_ms=START, seed=5)
        with db.transaction() as con:
            store.write_in(con, "ETH/USDT", "1m", df, provenance=CandleSource.FILE)
            rollup_range(store, con, "ETH/USDT", "1m", START, START + DAYS * DAY_MS - 1)
        end = START + (DAYS * 1440 - 1) * MINUTE_MS
        t_store = []
        for _ in range(30):
            t0 = time.perf_counter()
            store.read("ETH/USDT", "1m", end - 999 * MINUTE_MS, end)
            t_store.append(time.perf_counter() - t0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "serve", "--db", str(db_path)]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port), "--data-dir", str(tmp / "tc")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/api/status", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=url, timeout=30, headers={"X-Ghostcandle": "1"}) as c:
            t_page = []
            for _ in range(30):
                t0 = time.perf_counter()
                r = c.get("/api/candles", params={"symbol": "ETH/USDT", "timeframe": "1m"})
                t_page.append(time.perf_counter() - t0)
                assert len(r.json()["candles"]) == 1000
            t_http = []  # the floor of any request: a round trip to a route that reads nothing
            for _ in range(30):
                t0 = time.perf_counter()
                c.get("/api/status")
                t_http.append(time.perf_counter() - t0)
            t_save = []
            for i in range(20):
                entry = START + (20_000 + 100 * i) * MINUTE_MS
                body = {"symbol": "ETH/USDT", "timeframe": "1m", "entry_time": entry}
                t0 = time.perf_counter()
                r = c.post("/api/annotations", json={**body, "exit_time": entry + 30 * MINUTE_MS})
                t_save.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text
    finally:
        proc.terminate()
        proc.wait(10)
    page_ms = statistics.median(t_page) * 1000
    store_ms = statistics.median(t_store) * 1000
    http_ms = statistics.median(t_http) * 1000
    save_ms = statistics.median(t_save) * 1000
    print(
        json.dumps(
            {
                "bench": "web",
                "candles_page_1000_ms_p50": round(page_ms, 2),
                "store_read_1000_ms_p50": round(store_ms, 2),
                "candles_page_vs_store": round(page_ms / store_ms, 2),
                "annotation_save_with_test_case_ms_p50": round(save_ms, 2),
                "floor_http_status_ms_p50": round(http_ms, 2),
                "annotation_save_vs_http_floor": round(save_ms / http_ms, 1),
            }
        )
    )


if __name__ == "__main__":
    main()

"""``GET /api/status`` over ~2M 1s candles, beside its floor: ``SELECT count(*)`` of the table.

The app is served by uvicorn on 127.0.0.1 in this process; ``status_live_ms_p50`` is measured
with one new 1s candle per series written before each request (what a live feed does), and
``status_idle_ms_p50`` with none. ``full_window_query_ms_p50`` is ``CandleStore.series()``, the
gap-counting window function over the whole table that the page ran before. Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import uvicorn

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.web.app import create_app
from ghostcandle.web.config import WebConfig

START = 1_709_251_200_000
SYMBOLS = ("ETH/USDT", "BTC/USDT")
PER_SERIES = 1_000_000
EXTRA = 40


def _p50_ms(f: Callable[[], object], n: int = 15) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1000


def main() -> None:
    per_series = int(sys.argv[1]) if len(sys.argv) > 1 else PER_SERIES
    tmp = Path(tempfile.mkdtemp(prefix="bench-status-"))
    db_path = tmp / "bench.duckdb"
    df = synthetic_candles(per_series + EXTRA, "1s", start_ms=START, seed=5)
    with Database(db_path) as db:
        store = CandleStore(db)
        for sym in SYMBOLS:
            store.write(sym, "1s", df.iloc[:per_series], provenance=CandleSource.FILE)
        full_ms = _p50_ms(store.series, 5)
    app = create_app(WebConfig(db_path=db_path, data_dir=tmp / "tc"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    ws = app.state.workspace
    with ws.db.cursor() as cur:
        floor_ms = _p50_ms(lambda: cur.execute("SELECT count(*) FROM candles").fetchall(), 30)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
        c.get("/api/status")  # the one full read
        idle_ms = _p50_ms(lambda: c.get("/api/status"), 30)
        live: list[float] = []
        for i in range(EXTRA):
            for sym in SYMBOLS:
                ws.candles.write(
                    sym, "1s", df.iloc[per_series + i : per_series + i + 1],
                    provenance=CandleSource.WEBSOCKET,
                )  # fmt: skip
            t0 = time.perf_counter()
            rows = sum(s["rows"] for s in c.get("/api/status").json()["series"])
            live.append(time.perf_counter() - t0)
            assert rows == len(SYMBOLS) * (per_series + i + 1), rows
        http_floor_ms = _p50_ms(lambda: c.get("/api/train-model/status"), 30)
    spans = ws.spans
    server.should_exit = True
    t.join(30)
    live_ms = statistics.median(live) * 1000
    print(
        json.dumps(
            {
                "bench": "status",
                "candles": len(SYMBOLS) * (per_series + EXTRA),
                "status_live_ms_p50": round(live_ms, 2),
                "status_idle_ms_p50": round(idle_ms, 2),
                "floor_count_star_ms_p50": round(floor_ms, 3),
                "floor_http_other_route_ms_p50": round(http_floor_ms, 2),
                "full_window_query_ms_p50": round(full_ms, 1),
                "full_reads": spans.full_reads,
                "delta_reads": spans.delta_reads,
            }
        )
    )


if __name__ == "__main__":
    main()

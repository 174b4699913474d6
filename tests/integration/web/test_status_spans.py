"""``/api/status``'s series spans equal a brute-force count of the table, as candles arrive.

The app is served by uvicorn on 127.0.0.1 in this process, so the test writes candles through
the server's own store while it serves (as its feed does) and counts the table through the
server's own connection (the file is locked to other processes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import uvicorn

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import MINUTE_MS, SECOND_MS
from ghostcandle.store.candle_series import SeriesSpans
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.web.app import create_app
from ghostcandle.web.config import WebConfig
from ghostcandle.web.workspace import Workspace

from .conftest import START, free_port

ETH, BTC = "ETH/USDT", "BTC/USDT"
WS = CandleSource.WEBSOCKET


def _brute(db: Database) -> list[dict[str, Any]]:
    with db.cursor() as cur:
        rows = cur.execute(
            "SELECT symbol, timeframe, min(open_time), max(open_time), count(*) FROM candles "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    keys = ("symbol", "timeframe", "first_open_time", "last_open_time", "rows")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _served(client: httpx.Client) -> list[dict[str, Any]]:
    got = client.get("/api/status").json()["series"]
    return sorted(got, key=lambda s: tuple(s.values()))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, Workspace]]:
    """A serving app (uvicorn, loopback) and its workspace."""
    with Database(tmp_path / "ws.duckdb") as db:
        df = synthetic_candles(600, "1s", start_ms=START, seed=3)
        CandleStore(db).write(ETH, "1s", df, provenance=CandleSource.FILE)
    port = free_port()
    app = create_app(WebConfig(db_path=tmp_path / "ws.duckdb", data_dir=tmp_path / "tc"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the app did not start"
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client, app.state.workspace
    finally:
        server.should_exit = True
        t.join(30)


def _later(df: pd.DataFrame, shift_ms: int) -> pd.DataFrame:
    return df.assign(open_time=df["open_time"] + shift_ms)


def test_status_counts_equal_the_table_as_candles_arrive(
    served: tuple[httpx.Client, Workspace],
) -> None:
    client, ws = served
    store = ws.candles
    assert _served(client) == _brute(ws.db)
    base = synthetic_candles(1200, "1s", start_ms=START, seed=4)
    # new candles after the end (the live feed), the same ones again, a new series
    store.write(ETH, "1s", base.iloc[600:900], provenance=WS)
    assert _served(client) == _brute(ws.db)
    store.write(ETH, "1s", base.iloc[600:900], provenance=WS)
    store.write(
        BTC, "1m", synthetic_candles(30, "1m", start_ms=START, seed=5), provenance=CandleSource.FILE
    )
    assert _served(client) == _brute(ws.db)
    # a backfill before the series' start, and one into a hole in its middle
    store.write(
        ETH, "1s", _later(base.iloc[:50], -100 * SECOND_MS), provenance=CandleSource.REST_BACKFILL
    )
    store.write(ETH, "1s", base.iloc[1000:1100], provenance=WS)
    store.write(ETH, "1s", base.iloc[950:1000], provenance=CandleSource.REST_BACKFILL)
    assert _served(client) == _brute(ws.db)

    # a writer keeps adding candles while the page polls; each answer is a state the table had
    stop = threading.Event()

    btc = synthetic_candles(200, "1m", start_ms=START + 30 * MINUTE_MS, seed=7)

    def feed() -> None:
        i = 0
        while not stop.is_set() and i < 200:
            store.write(ETH, "1s", base.iloc[1100 + i : 1101 + i], provenance=WS)
            store.write(BTC, "1m", btc.iloc[i : i + 1], provenance=WS)
            i += 1

    w = threading.Thread(target=feed)
    w.start()
    seen: list[int] = []
    while w.is_alive():
        seen.append(sum(s["rows"] for s in _served(client)))
    stop.set()
    w.join()
    assert seen == sorted(seen)
    assert _served(client) == _brute(ws.db)


def test_spans_read_only_what_was_added(tmp_path: Path) -> None:
    with Database(tmp_path / "s.duckdb") as db:
        store = CandleStore(db)
        df = synthetic_candles(400, "1s", start_ms=START, seed=6)
        store.write(ETH, "1s", df.iloc[:300], provenance=CandleSource.FILE)
        spans = SeriesSpans(db)
        spans.current()
        store.write(ETH, "1s", df.iloc[300:], provenance=WS)
        got = [
            (s.symbol, s.timeframe, s.first_open_time, s.last_open_time, s.rows)
            for s in spans.current()
        ]
        assert got == [tuple(r.values()) for r in _brute(db)]
        assert (spans.full_reads, spans.delta_reads) == (1, 1)

"""Provenance of feed writes against the real simulator: REST pages vs WebSocket klines."""

from __future__ import annotations

import asyncio

from ghostcandle.feeds.backfill import BackfillReport, backfill
from ghostcandle.feeds.rest import BinanceRest
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database


def _by_provenance(db: Database, symbol: str, interval: str) -> dict[str, list[int]]:
    rows = db.con.execute(
        "SELECT provenance, open_time FROM candles WHERE symbol = ? AND timeframe = ? "
        "ORDER BY open_time",
        [symbol, interval],
    ).fetchall()
    out: dict[str, list[int]] = {}
    for p, t in rows:
        out.setdefault(str(p), []).append(int(t))
    return out


def test_a_rest_backfill_stores_rest_backfill_candles(make_sim, store: CandleStore) -> None:
    sim = make_sim(speed=1.0, history_ms=300_000)

    async def go() -> BackfillReport:
        rest = BinanceRest(sim.rest_url)
        try:
            since = sim.market.first_open("ETH/USDT")
            return await backfill(store, rest, "ETH/USDT", "1s", since)
        finally:
            await rest.aclose()

    report = asyncio.run(go())
    got = _by_provenance(store.db, "ETH/USDT", "1s")
    assert set(got) == {"rest_backfill"}
    assert len(got["rest_backfill"]) == report.inserted > 200


def test_the_live_feed_marks_history_as_rest_and_stream_candles_as_websocket(
    make_sim, db: Database, run_feed
) -> None:
    sim = make_sim(symbols=("ETH/USDT",), intervals=("1s",))
    run_feed(db, sim, 3.0, history_candles=30)
    got = _by_provenance(db, "ETH/USDT", "1s")
    assert set(got) <= {"rest_backfill", "websocket"}
    assert len(got.get("rest_backfill", [])) >= 30  # the history loaded before streaming
    assert got.get("websocket"), "no candle was stored from the WebSocket stream"
    # the stream follows the history: the oldest candles came over REST
    assert min(got["rest_backfill"]) < min(got["websocket"])

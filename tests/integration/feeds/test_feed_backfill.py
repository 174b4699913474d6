"""REST backfill against the simulator: paging, resume, 429 waits, 418 stops."""

from __future__ import annotations

import asyncio

import pytest

from ghostcandle.domain.errors import OperationalError
from ghostcandle.feeds.backfill import BackfillReport, backfill
from ghostcandle.feeds.rest import BinanceRest
from ghostcandle.feeds.simulator.faults import Faults
from ghostcandle.store.candles import CandleStore


def _run(store: CandleStore, url: str, since: int, until: int | None = None) -> BackfillReport:
    async def go() -> BackfillReport:
        rest = BinanceRest(url)
        try:
            return await backfill(store, rest, "ETH/USDT", "1s", since, until)
        finally:
            await rest.aclose()

    return asyncio.run(go())


def _expected(sim, start: int, end: int):
    got = sim.market.closed_candles("ETH/USDT", "1s", start, end, sim.sim_now(), 10**6)
    return [(c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in got]


def _stored(store: CandleStore):
    df = store.read("ETH/USDT", "1s")
    return [(int(r.open_time), r.open, r.high, r.low, r.close, r.volume) for r in df.itertuples()]


def test_backfill_pages_and_stores_exactly_the_closed_candles(make_sim, store: CandleStore):
    sim = make_sim(speed=1.0, history_ms=2_500_000)  # 2,500 1s candles: three pages
    since = sim.market.first_open("ETH/USDT")
    report = _run(store, sim.rest_url, since)
    assert report.requests >= 3
    stored = _stored(store)
    assert stored == _expected(sim, since, stored[-1][0])
    assert len(stored) >= 2_499
    assert stored[-1][0] + 1000 <= sim.sim_now()  # no open candle


def test_backfill_resumes_after_the_newest_stored_candle(make_sim, store: CandleStore):
    sim = make_sim(speed=1.0, history_ms=1_200_000)
    since = sim.market.first_open("ETH/USDT")
    _run(store, sim.rest_url, since, since + 599_000)
    assert len(_stored(store)) == 600
    second = _run(store, sim.rest_url, since)
    assert second.start == since + 600_000  # resumed, nothing re-fetched
    assert second.duplicates == 0
    stored = _stored(store)
    assert stored == _expected(sim, since, stored[-1][0])


def test_backfill_waits_out_429_and_still_stores_everything(make_sim, store: CandleStore):
    sim = make_sim(Faults(rest_429_every=2, retry_after_s=0.3), speed=1.0, history_ms=1_500_000)
    since = sim.market.first_open("ETH/USDT")

    async def go() -> tuple[BackfillReport, float]:
        rest = BinanceRest(sim.rest_url)
        try:
            rep = await backfill(store, rest, "ETH/USDT", "1s", since)
            return rep, rest.waited_s
        finally:
            await rest.aclose()

    report, waited = asyncio.run(go())
    assert report.rate_limited >= 1
    assert waited == pytest.approx(0.3 * sim.stats.rest_429)
    stored = _stored(store)
    assert stored == _expected(sim, since, stored[-1][0])


def test_backfill_stops_on_418_and_says_why(make_sim, store: CandleStore):
    sim = make_sim(Faults(rest_418=True), speed=1.0)
    since = sim.market.first_open("ETH/USDT")
    with pytest.raises(OperationalError, match=r"418.*banned"):
        _run(store, sim.rest_url, since)
    assert store.last_open_time("ETH/USDT", "1s") is None

"""The candle builder on a real DuckDB file and a real bus: order, gaps, duplicates, conflicts."""

from __future__ import annotations

import time

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.events import CandleCompletionEvent
from ghostcandle.feeds.candle_builder import CandleBatch, CandleBuilder
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

T0 = 1_700_000_000_000


def c(i: int, close: float = 10.5, symbol: str = "ETH/USDT") -> Candle:
    return Candle(symbol, "1s", T0 + i * 1000, 10.0, 11.0, 9.0, close, 1.0 + i)


def batch(*candles: Candle, covered: dict | None = None) -> CandleBatch:
    return CandleBatch(tuple(candles), None, tuple((covered or {}).items()), CandleSource.WEBSOCKET)


def make(db: Database):
    bus = MessageBus()
    events: list[CandleCompletionEvent] = []
    bus.subscribe("candles.*", events.append)
    gaps: list[tuple[str, str, int, int]] = []
    builder = CandleBuilder(db, bus, source="test", on_gap=lambda *a: gaps.append(a))
    builder.prime([("ETH/USDT", "1s"), ("BTC/USDT", "1s")])
    return builder, events, gaps


def times(events: list[CandleCompletionEvent], symbol: str = "ETH/USDT") -> list[int]:
    return [(e.candle.open_time - T0) // 1000 for e in events if e.symbol == symbol]


def test_out_of_order_candles_wait_for_the_missing_one_and_ask_for_it(db: Database):
    builder, events, gaps = make(db)
    builder.process([batch(c(0))])
    builder.process([batch(c(2), c(3))])
    assert times(events) == [0]
    assert gaps == [("ETH/USDT", "1s", T0 + 1000, T0 + 1000)]
    builder.process([batch(c(1))])
    assert times(events) == [0, 1, 2, 3]
    stored = CandleStore(db).read("ETH/USDT", "1s")
    assert list((stored["open_time"] - T0) // 1000) == [0, 1, 2, 3]


def test_duplicates_are_stored_and_published_once(db: Database):
    builder, events, _ = make(db)
    builder.process([batch(c(0), c(1)), batch(c(1))])
    builder.process([batch(c(0), c(1))])
    assert times(events) == [0, 1]
    assert len(CandleStore(db).read("ETH/USDT", "1s")) == 2
    assert builder.stats["duplicates"] >= 3


def test_a_different_value_for_a_stored_candle_is_refused_and_logged(db: Database):
    builder, events, _ = make(db)
    builder.process([batch(c(0), c(1))])
    builder.process([batch(c(1, close=10.9))])
    stored = CandleStore(db).read("ETH/USDT", "1s")
    assert stored["close"].tolist() == [10.5, 10.5]
    assert builder.stats["conflicts"] == 1
    assert CandleStore(db).conflicts_count() == 1
    assert times(events) == [0, 1]


def test_a_hole_the_exchange_confirms_is_accepted_after_asking(db: Database):
    builder, events, _ = make(db)
    builder.process([batch(c(0))])
    builder.process([batch(c(3))])
    assert times(events) == [0]
    builder.process([batch(covered={("ETH/USDT", "1s"): T0 + 2000})])  # asked: nothing at 1, 2
    assert times(events) == [0, 3]
    assert builder.stats["holes_accepted"] == 2


def test_invalid_candles_are_rejected_and_series_are_independent(db: Database):
    builder, events, _ = make(db)
    bad = Candle("ETH/USDT", "1s", T0, 10.0, 9.0, 11.0, 10.0, 1.0)  # high < low
    builder.process([batch(bad, c(0, symbol="BTC/USDT"), c(1, symbol="BTC/USDT"))])
    assert builder.rejected["high_below_open_close"] == 1
    assert CandleStore(db).read("ETH/USDT", "1s").empty
    assert times(events, "BTC/USDT") == [0, 1]


def test_resumes_after_the_newest_stored_candle(db: Database):
    builder, _, _ = make(db)
    builder.process([batch(c(0), c(1))])
    again, events, gaps = make(db)
    assert again.next_open_time("ETH/USDT", "1s") == T0 + 2000
    again.process([batch(c(3))])
    assert gaps == [("ETH/USDT", "1s", T0 + 2000, T0 + 2000)]
    assert events == []


def test_lag_samples_keep_only_the_newest_so_a_long_feed_does_not_grow_the_process(db: Database):
    from ghostcandle.feeds.candle_builder import LAG_SAMPLES

    builder, events, _ = make(db)
    n = LAG_SAMPLES + 500
    received = time.perf_counter_ns()
    candles = tuple(c(i) for i in range(n))
    builder.process([CandleBatch(candles, received, (), CandleSource.WEBSOCKET)])
    assert len(events) == n  # every candle was stored and published with a lag sample
    assert len(builder.lags_ms) == LAG_SAMPLES
    assert builder.lags_ms[-1] >= builder.lags_ms[0]  # the newest kept (measured last)

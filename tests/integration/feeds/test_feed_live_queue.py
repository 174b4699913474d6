"""The live queue under a session slower than the feed (30x speed, real loopback WS, DuckDB).

The bus between the feed and its subscribers stays within its bound, no closed candle is
dropped (stored at once, published in order, once each: what the queue has no room for waits
in the store), forming updates are coalesced, and the lag (queue depth, age of the oldest
waiting event) is in the feed's health and the runtime's feed status (what the live panel
shows); a warning is logged when the queue grows.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.events import CandleCompletionEvent
from ghostcandle.engine.runtime import ExchangeConfig, Runtime
from ghostcandle.feeds.config import LIVE_QUEUE_MAX
from ghostcandle.feeds.live_feed import LiveFeed
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database

from .conftest import feed_config

BOUND = 40


def test_a_slow_session_sees_a_bounded_queue_and_every_closed_candle(
    make_sim, assert_matches_simulator, db: Database, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="ghostcandle.messaging")
    sim = make_sim(speed=30.0)  # two 1s series: 60 closed candles a second
    bus = MessageBus(threaded=True, name="live", max_queue=BOUND, warn_depth=BOUND // 2)
    events: list[CandleCompletionEvent] = []
    # handles 40 candles a second, as a session that predicts and trains on each would
    bus.subscribe("candles.*", lambda e: (time.sleep(0.025), events.append(e)))
    feed = LiveFeed(db, bus, feed_config(sim)).start()
    samples: list[dict[str, object]] = []
    assert feed.wait_started(20)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            samples.append(feed.status().to_json())
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(4.0)
    stop.set()
    watcher.join()
    feed.stop()
    assert bus.drain(30)
    bus.close()
    depths = [int(s["queue_depth"]) for s in samples]  # type: ignore[call-overload]
    ages = [int(s["queue_oldest_age_ms"]) for s in samples]  # type: ignore[call-overload]
    assert max(depths) >= BOUND, f"the session was not slower than the feed: {depths}"
    assert ages[-1] > 1000, f"the lag was not told: {ages}"
    last = feed.status().to_json()
    c = last["counters"]
    assert c["queue_max_depth"] <= BOUND + len(sim.market.symbols) * len(sim.market.intervals)
    assert c["queue_refused"] > 0
    assert c["builder_deferred"] > 0, "nothing waited in the store"
    assert c["events_waiting_in_store"] == 0, "deferred events were not all published at stop"
    # the store kept up with the exchange although the session lagged
    assert c["builder_queued"] == 0
    assert_matches_simulator(db, sim, events)
    assert len(events) == c["builder_stored"], "a stored candle was not published, or twice"
    assert any("queued" in r.getMessage() for r in caplog.records)
    assert any("wait in the store" in r.getMessage() for r in caplog.records)


def test_the_runtime_bus_is_bounded_and_its_feed_status_tells_the_lag(make_sim, db: Database):
    sim = make_sim()
    ex = ExchangeConfig(
        rest_url=sim.rest_url,
        ws_url=sim.ws_url,
        synthetic=True,
        symbols=sim.market.symbols,
        intervals=sim.market.intervals,
        history_candles=5,
    )
    runtime = Runtime(db, LiveClock(), exchange=ex)
    try:
        runtime.start_feed(wait_s=20)
        time.sleep(1.0)
        status = runtime.feed_status()
    finally:
        runtime.close()
    assert runtime.bus.max_queue == LIVE_QUEUE_MAX
    assert status is not None
    assert status["queue_depth"] >= 0
    assert status["queue_oldest_age_ms"] >= 0
    assert status["state"] == "connected"

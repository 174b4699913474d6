"""The bounded live queue of the threaded bus: closed candles never dropped, forming coalesced.

A slow subscriber (as a live session at 30x speed is) makes the queue fill: publishers of
ordinary messages then wait (back-pressure) instead of the queue growing without bound, a
message published with ``coalesce=True`` replaces the one of its topic still queued, and the
lag (depth, age of the oldest queued message) is told and warned about.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from ghostcandle.messaging.bus import MessageBus

BOUND = 20


def test_a_slow_subscriber_bounds_the_queue_and_loses_no_closed_message(
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.WARNING, logger="ghostcandle.messaging")
    bus = MessageBus(threaded=True, name="slow", max_queue=BOUND, warn_depth=BOUND // 2)
    closed: list[int] = []
    forming: list[int] = []
    bus.subscribe("candles.x", lambda m: (time.sleep(0.002), closed.append(m)))
    bus.subscribe("forming.x", forming.append)
    depths: list[int] = []
    ages: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            lag = bus.lag()
            depths.append(lag.depth)
            ages.append(lag.oldest_age_s)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    n = 300
    for i in range(n):  # ~5x faster than the subscriber: the queue must fill
        bus.publish("candles.x", i)
        bus.publish("forming.x", i, coalesce=True)
    assert bus.drain(30)
    stop.set()
    watcher.join()
    bus.close()
    assert closed == list(range(n)), "a closed message was lost, duplicated or reordered"
    assert forming == sorted(set(forming)), "forming updates out of order or twice"
    assert forming[-1] == n - 1, "the newest forming update was not delivered"
    assert len(forming) < n, "forming updates were not coalesced"
    assert max(depths) <= BOUND + 1, f"the queue grew past its bound: {max(depths)}"
    assert max(depths) >= BOUND // 2
    assert max(ages) > 0
    lag = bus.lag()
    assert lag.depth == 0
    assert lag.blocked > 0
    assert lag.coalesced == n - len(forming)
    assert lag.max_depth <= BOUND + 1
    warned = [r for r in caplog.records if "queued" in r.getMessage()]
    assert warned
    assert all(r.levelno == logging.WARNING for r in warned)


def test_a_handler_publishing_into_a_full_queue_does_not_deadlock():
    bus = MessageBus(threaded=True, name="fanout", max_queue=2)
    got: list[str] = []
    # each message makes the dispatcher publish two more: it must never wait on itself
    bus.subscribe("a", lambda m: [bus.publish("b", m) for _ in range(2)])
    bus.subscribe("b", got.append)
    for i in range(20):
        bus.publish("a", str(i))
    assert bus.drain(10)
    bus.close()
    assert len(got) == 40


def test_an_unbounded_bus_and_a_synchronous_bus_keep_their_old_behaviour():
    sync = MessageBus()
    seen: list[int] = []
    sync.subscribe("f", seen.append)
    sync.publish("f", 1, coalesce=True)
    sync.publish("f", 2, coalesce=True)
    assert seen == [1, 2]  # delivered at once: nothing to coalesce
    free = MessageBus(threaded=True)
    free.subscribe("c", lambda m: time.sleep(0.001))
    for i in range(200):
        free.publish("c", i)
    assert free.lag().depth > 0
    assert free.drain(10)
    free.close()

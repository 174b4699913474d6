"""The bus's idle calls: once a burst of messages is delivered, not once per message."""

from __future__ import annotations

import threading

import pytest

from ghostcandle.messaging.bus import MessageBus


def _record(bus: MessageBus) -> list[str]:
    seen: list[str] = []
    bus.subscribe("candles.*", lambda m: seen.append(f"msg {m}"))
    bus.on_idle(lambda: seen.append("idle"))
    return seen


def test_a_burst_is_delivered_in_order_then_idles_once() -> None:
    bus = MessageBus()
    seen = _record(bus)
    bus.publish_many([("candles.a", 1), ("candles.b", 2), ("candles.a", 3)])
    bus.publish("candles.a", 4)
    assert seen == ["msg 1", "msg 2", "msg 3", "idle", "msg 4", "idle"]
    assert bus.published == 4


def test_messages_published_by_handlers_and_idle_calls_come_before_the_idle_ends() -> None:
    bus = MessageBus()
    seen = _record(bus)
    bus.subscribe("candles.a", lambda m: m < 10 and bus.publish("candles.b", m + 10))
    once = [True]

    def late() -> None:
        if once[0]:
            once[0] = False
            bus.publish("candles.c", 99)

    bus.on_idle(late)
    bus.publish("candles.a", 1)
    assert seen == ["msg 1", "msg 11", "idle", "msg 99", "idle"]


def test_a_failing_idle_call_is_counted_and_the_others_run() -> None:
    bus = MessageBus()
    calls: list[int] = []

    def bad() -> None:
        raise RuntimeError("boom")

    bus.on_idle(bad)
    stop = bus.on_idle(lambda: calls.append(1))
    bus.publish("x", 1)
    assert calls == [1]
    assert sum(bus.errors.values()) == 1
    stop()
    bus.publish("x", 2)
    assert calls == [1]


def test_a_threaded_bus_idles_once_for_what_was_queued_while_it_was_busy() -> None:
    bus = MessageBus(threaded=True)
    gate, entered = threading.Event(), threading.Event()
    seen: list[str] = []

    def handler(m: int) -> None:
        if m == 0:
            entered.set()
            gate.wait(10)
        seen.append(f"msg {m}")

    bus.subscribe("candles.*", handler)
    bus.on_idle(lambda: seen.append("idle"))
    bus.publish("candles.a", 0)
    assert entered.wait(10)
    bus.publish_many([("candles.a", 1), ("candles.b", 2)])  # queued behind the busy one
    gate.set()
    assert bus.drain(10)
    bus.close()
    assert seen == ["msg 0", "msg 1", "msg 2", "idle"]


@pytest.mark.parametrize("threaded", [False, True])
def test_drain_returns_after_the_idle_call(threaded: bool) -> None:
    bus = MessageBus(threaded=threaded)
    done = threading.Event()
    bus.on_idle(done.set)
    bus.publish("x", 1)
    assert bus.drain(10)
    assert done.is_set()
    bus.close()

"""The foreground a tick holds, and background work yielding to it (``messaging/foreground.py``)."""

from __future__ import annotations

import threading
import time

import pytest

from ghostcandle.messaging.bus import MessageBus
from ghostcandle.messaging.foreground import Foreground


def _yield_in_thread(fg: Foreground, max_s: float) -> tuple[threading.Thread, list[float]]:
    waited: list[float] = []
    t = threading.Thread(target=lambda: waited.append(fg.yield_to(max_s)), daemon=True)
    t.start()
    return t, waited


def test_background_goes_at_once_when_nothing_is_in_flight() -> None:
    fg = Foreground()
    assert fg.yield_to(5.0) == 0.0
    assert (fg.yields, fg.in_flight) == (0, 0)


def test_background_waits_until_the_foreground_is_quiet() -> None:
    fg = Foreground()
    fg.enter()
    fg.enter()  # two pieces in flight: the tick's handling and its write
    t, waited = _yield_in_thread(fg, 10.0)
    time.sleep(0.2)
    fg.leave()
    time.sleep(0.2)
    assert t.is_alive(), "went on while a piece of the foreground was still in flight"
    fg.leave()
    t.join(5.0)
    assert not t.is_alive()
    assert 0.35 <= waited[0] < 5.0
    assert fg.yields == 1


def test_a_quiet_moment_lets_background_go_even_if_the_next_tick_began() -> None:
    fg = Foreground()
    fg.enter()
    t, waited = _yield_in_thread(fg, 10.0)
    time.sleep(0.2)
    with fg._cond:  # the tick ends and the next begins before the waiter runs again
        fg._busy -= 1
        fg._quiet_moments += 1
        fg._cond.notify_all()
        fg._busy += 1
    t.join(5.0)
    assert not t.is_alive(), "back-to-back ticks starved the background"
    assert waited[0] < 5.0
    assert fg.in_flight == 1


def test_a_stuck_foreground_holds_background_back_for_max_s_only() -> None:
    fg = Foreground()
    fg.enter()
    began = time.monotonic()
    assert fg.yield_to(0.3) >= 0.29
    assert time.monotonic() - began < 3.0


def test_leaving_more_often_than_entering_is_a_bug_said_at_once() -> None:
    fg = Foreground()
    with fg.busy():
        assert fg.in_flight == 1
    assert fg.in_flight == 0
    with pytest.raises(RuntimeError, match="without a matching enter"):
        fg.leave()


@pytest.mark.parametrize("threaded", [False, True])
def test_the_bus_holds_the_foreground_from_a_burst_to_its_idle_call(threaded: bool) -> None:
    bus = MessageBus(threaded=threaded)
    seen: list[tuple[str, int]] = []
    bus.subscribe("candles.*", lambda m: seen.append((f"msg {m}", bus.foreground.in_flight)))
    bus.on_idle(lambda: seen.append(("idle", bus.foreground.in_flight)))
    bus.publish_many([("candles.a", 1), ("candles.b", 2)])
    assert bus.drain(5.0)
    deadline = time.monotonic() + 5.0
    while bus.foreground.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen == [("msg 1", 1), ("msg 2", 1), ("idle", 1)]
    assert bus.foreground.in_flight == 0
    bus.close()

"""Clocks: inject one wherever time matters, so replay and live run the same code."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Tell the time in epoch milliseconds UTC."""

    def now_ms(self) -> int:
        """Return the current time."""
        ...


class LiveClock:
    """The system's wall clock."""

    def now_ms(self) -> int:
        """Return the wall-clock time."""
        return time.time_ns() // 1_000_000


class ReplayClock:
    """A clock that only moves when told to (replay, backtest, tests); never goes backwards."""

    def __init__(self, start_ms: int = 0) -> None:
        self._now = start_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """Return the simulated time."""
        return self._now

    def advance_to(self, t_ms: int) -> None:
        """Move the clock to ``t_ms`` (ignored if that is in the past)."""
        with self._lock:
            self._now = max(self._now, t_ms)


class FeedClock:
    """The market's clock in a live session: the wall clock, or the newest closed candle's
    close time a feed delivered when that is later; never goes backwards.

    A sped-up exchange simulator (``exchange-sim --speed 5``) stamps its candles with its own
    time, which runs ahead of the wall clock: stamping training steps and ledger rows with the
    wall clock would date them before candles already received. A candle is known once
    delivered, so its close time is a time the market has reached; on a real exchange at real
    speed the close times trail the wall clock and this is the wall clock.
    """

    def __init__(self, base: Clock | None = None) -> None:
        self.base: Clock = base or LiveClock()
        self._now = 0
        self._lock = threading.Lock()

    def observe(self, close_ms: int) -> None:
        """Note a delivered closed candle's close time (an older one changes nothing)."""
        with self._lock:
            self._now = max(self._now, close_ms)

    def now_ms(self) -> int:
        """Return the later of the wall clock and the newest close observed (never earlier
        than any time returned before)."""
        wall = self.base.now_ms()
        with self._lock:
            self._now = max(self._now, wall)
            return self._now

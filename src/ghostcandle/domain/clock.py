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

"""The foreground: a tick being handled and stored, which background work yields to.

A live tick (a second's candles: predict, resolve, hand the rows to the writer, commit them)
takes a few milliseconds of a second. Training (the trainer's steps, building and judging its
batches, following up outcomes) can run in the rest of the second: on a 2-core machine, work
that runs *during* the tick takes the cores and the interpreter from it and makes it late.

``Foreground`` counts the work in flight: the bus holds it while it delivers a burst of
messages (and calls its idle callbacks), and a session holds it from handing a tick's rows to
the writer until they are committed. Background threads call ``yield_to()`` before each unit of
work (a step, a batch): it returns at once when nothing is in flight, else once the foreground
has been quiet for a moment since the call (not necessarily still: ticks back to back, e.g. a
replay at 30x, let background work go at each gap and never starve it), and after ``max_s`` at
most (a foreground stuck on a slow disk does not stop training).

Background threads also run nicer (``lower_priority``, Linux: ``BACKGROUND_NICENESS``): when
the tick and background work both want a core, the scheduler gives it to the tick, also in the
middle of a unit of work that started before the tick did. The trainer's threads, the session's
batch builder and the outcome validator's worker do (each only where it yields to a
foreground: a synchronous replay waits for its steps, so nothing runs beside them).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: the longest a background unit of work waits for the foreground (seconds)
MAX_YIELD_S = 1.0
#: how much nicer (Linux scheduler) background threads run than the tick: when both want the
#: CPU, the prediction of a closing candle goes first
BACKGROUND_NICENESS = 10


def lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux threads have their own nice value).

    Where that is not possible (not Linux, not permitted) the thread runs at its priority.
    """
    try:
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + BACKGROUND_NICENESS
        )
    except (AttributeError, OSError):
        pass


class Foreground:
    """Count foreground work in flight; let background threads wait for a quiet moment."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._busy = 0
        #: how many times the foreground became quiet (a waiter goes on when it changes)
        self._quiet_moments = 0
        #: how long background work waited, over the process's life (seconds)
        self.yielded_s = 0.0
        self.yields = 0

    def enter(self) -> None:
        """Count one piece of foreground work as started."""
        with self._cond:
            self._busy += 1

    def leave(self) -> None:
        """Count one piece as done (wakes the waiters when none is left)."""
        with self._cond:
            if self._busy <= 0:
                raise RuntimeError("Foreground.leave() without a matching enter()")
            self._busy -= 1
            if self._busy == 0:
                self._quiet_moments += 1
                self._cond.notify_all()

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Hold the foreground for the ``with`` block."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    @property
    def in_flight(self) -> int:
        """Return how many pieces of foreground work are in flight."""
        with self._cond:
            return self._busy

    def yield_to(self, max_s: float = MAX_YIELD_S) -> float:
        """Wait until the foreground is or has been quiet since the call (``max_s`` at most).

        Return the seconds waited. Call it from background threads only: a foreground thread
        would wait for itself.
        """
        with self._cond:
            if self._busy == 0:
                return 0.0
            seen = self._quiet_moments
            began = time.monotonic()
            self._cond.wait_for(
                lambda: self._busy == 0 or self._quiet_moments != seen, timeout=max_s
            )
            waited = time.monotonic() - began
            self.yielded_s += waited
            self.yields += 1
            return waited

"""The batches waiting for a live session's batch builder: bounded, the oldest giving way.

A live session's policy hands over a batch per resolved candle (per ten of a 1s series). The
builder reads each batch's frames back and waits for a quiet moment of the tick; the trainer takes
one step per batch. When both fall behind the candles (a feed replayed at 30x, a slow machine),
the batches would pile up without end: memory grows with them, and every step trains on frames
older than the one before. ``BatchBacklog`` holds at most ``limit``: a new batch pushes the
oldest out, counted as superseded (``status``); the superseded batch's pivot samples move into the
next batch waiting, since a confirmed pivot is a label a later batch does not carry on its own.
The resolved-candle samples it drops stay in the policy's buffer, which later batches draw from.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.engine.training.policy import TrainingSample

#: The most batches a live session keeps waiting for its builder.
MAX_WAITING_BATCHES = 4


@dataclass(frozen=True, slots=True)
class WaitingBatch:
    """A policy batch, why it was made, and the session time it was made at."""

    samples: tuple[TrainingSample, ...]
    reason: TrainingSource
    now: int


def _with_pivots(batch: WaitingBatch, old: WaitingBatch) -> WaitingBatch:
    """Return ``batch`` with the pivot samples of ``old`` it does not hold yet, first."""
    held = {(s.frame.frame_id, s.timeframe) for s in batch.samples}
    carried = tuple(
        s
        for s in old.samples
        if s.reason is TrainingSource.PIVOT and (s.frame.frame_id, s.timeframe) not in held
    )
    return batch if not carried else replace(batch, samples=carried + batch.samples)


class BatchBacklog:
    """At most ``limit`` waiting batches, oldest first, taken by one drainer at a time."""

    def __init__(self, limit: int = MAX_WAITING_BATCHES) -> None:
        if limit < 1:
            raise ValueError(f"a batch backlog needs limit >= 1 (got {limit})")
        self.limit = limit
        self._waiting: deque[WaitingBatch] = deque()
        self._lock = threading.Lock()
        self._draining = False
        #: batches pushed out by newer ones before they were built
        self.superseded = 0
        #: batches put, over the backlog's life
        self.put_count = 0

    def put(self, batch: WaitingBatch) -> bool:
        """Add ``batch`` (pushing out the oldest when full); return True when the caller must
        start a drainer (none is running)."""
        with self._lock:
            self.put_count += 1
            if len(self._waiting) >= self.limit:
                old = self._waiting.popleft()
                self.superseded += 1
                if self._waiting:
                    self._waiting[0] = _with_pivots(self._waiting[0], old)
                else:
                    batch = _with_pivots(batch, old)
            self._waiting.append(batch)
            start, self._draining = not self._draining, True
            return start

    def take(self) -> WaitingBatch | None:
        """Return the oldest waiting batch; None (and the drainer counts as stopped) if none."""
        with self._lock:
            if not self._waiting:
                self._draining = False
                return None
            return self._waiting.popleft()

    def clear(self) -> int:
        """Drop every waiting batch (a session stopping without finishing); return how many."""
        with self._lock:
            n = len(self._waiting)
            self._waiting.clear()
            return n

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting)

    def status(self) -> dict[str, Any]:
        """Return the waiting count, its limit and how many batches were superseded."""
        with self._lock:
            return {
                "waiting": len(self._waiting),
                "limit": self.limit,
                "superseded": self.superseded,
                "batches": self.put_count,
            }

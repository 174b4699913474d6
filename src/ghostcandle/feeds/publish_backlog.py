"""Publish candle-close events into a bounded bus, keeping what it has no room for in the store.

When the live queue is full (its subscribers, the live session, are slower than the feed), the
candle builder must neither drop a closed candle nor stop storing: the candles are stored
already, so only where publishing stopped is remembered per series, and the events are
published later, read back from the store, in close-time order (finer series first on a tie),
once each. Memory stays bounded whatever the lag; the store stays current.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence

from ghostcandle.domain.candles import Candle
from ghostcandle.domain.events import CandleCompletionEvent, candle_topic
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore

log = logging.getLogger(__name__)

Series = tuple[str, str]


def _order(c: Candle) -> tuple[int, int, str]:
    return (c.close_time, duration_ms(c.timeframe), c.symbol)


class PublishBacklog:
    """Publish stored closed candles as events; defer those the bus refuses (see module doc).

    ``read_candles``: how many of the finest deferred series' candles one read-back covers.
    """

    def __init__(self, store: CandleStore, bus: MessageBus, *, read_candles: int = 500) -> None:
        self.store = store
        self.bus = bus
        self.read_candles = read_candles
        self._from: dict[Series, int] = {}  # first stored, unpublished open time
        self._upto: dict[Series, int] = {}  # newest stored candle to publish
        # when deferred candles were deferred: (open time, monotonic s), sampled every 0.1 s
        self._marks: dict[Series, deque[tuple[int, float]]] = {}
        self.deferred = 0  # candles deferred so far (each published later, once)
        self._lock = threading.Lock()  # the health is read from other threads

    @property
    def pending(self) -> bool:
        """Tell whether deferred events wait."""
        return bool(self._from)

    def waiting(self) -> int:
        """Return about how many deferred events wait (holes counted too)."""
        with self._lock:
            return sum((self._upto[k] - s) // duration_ms(k[1]) + 1 for k, s in self._from.items())

    def oldest_age_s(self) -> float:
        """Return how long the oldest deferred event has waited (0 when none waits)."""
        now = time.monotonic()
        with self._lock:
            return max([self._age(key, start, now) for key, start in self._from.items()] or [0.0])

    def _age(self, key: Series, start: int, now: float) -> float:
        marks = self._marks.get(key)
        while marks and len(marks) > 1 and marks[1][0] <= start:
            marks.popleft()  # published: the next mark covers the start
        return now - marks[0][1] if marks else 0.0

    def _mark(self, key: Series, open_time: int) -> None:
        marks = self._marks.setdefault(key, deque(maxlen=10_000))
        now = time.monotonic()
        if not marks or now - marks[-1][1] >= 0.1 or key not in self._from:
            marks.append((open_time, now))

    def publish(self, candles: Sequence[Candle]) -> list[Candle]:
        """Publish ``candles`` (stored, in order) after any deferred ones; return those published
        now (the others are deferred)."""
        self.flush()
        out: list[Candle] = []
        with self._lock:
            for c in candles:
                self._offer(c, out)
        return out

    def _offer(self, c: Candle, out: list[Candle]) -> None:
        key = (c.symbol, c.timeframe)
        # once anything waits, everything waits behind it: the order is kept across series
        if self._from or not self.bus.offer(candle_topic(*key), _event(c)):
            if not self._from:
                log.warning(
                    "the live queue is full: candle events wait in the store (from %s %s %d); "
                    "its subscribers are slower than the feed",
                    *key,
                    c.open_time,
                )
            self._mark(key, c.open_time)
            self._from.setdefault(key, c.open_time)
            self._upto[key] = max(c.open_time, self._upto.get(key, c.open_time))
            self.deferred += 1
            return
        out.append(c)

    def flush(self) -> int:
        """Publish deferred events while the bus takes them; return how many were published."""
        with self._lock:
            return self._flush()

    def _flush(self) -> int:
        sent = 0
        while self._from:
            d_min = min(duration_ms(k[1]) for k in self._from)
            horizon = min(s + duration_ms(k[1]) for k, s in self._from.items())
            horizon += self.read_candles * d_min
            batch: list[Candle] = []
            for (symbol, tf), start in self._from.items():
                end = min(self._upto[(symbol, tf)], horizon - duration_ms(tf))
                if end >= start:
                    batch.extend(_read(self.store, symbol, tf, start, end))
            batch.sort(key=_order)
            for i, c in enumerate(batch):
                if not self.bus.offer(candle_topic(c.symbol, c.timeframe), _event(c)):
                    self._advance(batch[i:], horizon)
                    return sent
                sent += 1
            self._advance([], horizon)
        return sent

    def _advance(self, unsent: list[Candle], horizon: int) -> None:
        """Move each series' start past what was published up to ``horizon``."""
        first: dict[Series, int] = {}
        for c in unsent:
            first.setdefault((c.symbol, c.timeframe), c.open_time)
        for key in list(self._from):
            d = duration_ms(key[1])
            nxt = first.get(key, max(self._from[key], (horizon // d) * d))
            if nxt > self._upto[key]:
                del self._from[key], self._upto[key]
                self._marks.pop(key, None)
            else:
                self._from[key] = nxt


def _event(c: Candle) -> CandleCompletionEvent:
    return CandleCompletionEvent(c.symbol, c.timeframe, c)


def _read(store: CandleStore, symbol: str, tf: str, start: int, end: int) -> list[Candle]:
    df = store.read(symbol, tf, start, end)
    cols = [df[c].to_numpy() for c in ("open_time", "open", "high", "low", "close", "volume")]
    return [
        Candle(symbol, tf, int(t), float(o), float(h), float(lo), float(c), float(v))
        for t, o, h, lo, c, v in zip(*cols, strict=True)
    ]

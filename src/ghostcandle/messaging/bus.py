"""An in-order message bus with hierarchical topics.

``subscribe(pattern, handler)`` takes an exact topic (``candles.ETH/USDT.1m``) or a pattern
ending in ``*`` (``candles.*``). Messages are delivered in publish order, each to every matching
subscriber in subscription order. A message published from inside a handler is queued and
delivered after the current one (breadth-first), so the order is deterministic.

Two ways to run it, same semantics:

- ``MessageBus()`` dispatches in the publishing thread (replay, backtest, tests);
- ``MessageBus(threaded=True)`` dispatches from one dedicated thread (live), and ``publish``
  only enqueues.

A handler that raises is logged and counted in ``errors``; the other subscribers still get the
message and the bus keeps running.

``on_idle(callback)`` calls ``callback()`` each time the bus has delivered everything queued
(on the dispatching thread, before it waits for more): a burst of messages published together
(``publish_many``; on a threaded bus, whatever a publisher queued while the dispatcher was busy)
ends in one idle call, so a subscriber can do once per burst what it would otherwise do per
message (a live session hands its writes to the writer once per tick of candles).

``foreground`` (``messaging/foreground.py``) is held while a burst is delivered, from its first
message to its idle calls: background work (training) yields to it.

The threaded queue can be bounded (``max_queue``): when subscribers fall behind, ``publish``
from another thread waits for room (back-pressure: nothing is dropped), while a message
published with ``coalesce=True`` (a forming candle: only the newest matters) replaces the one
of its topic still queued and never waits; ``offer`` publishes only if there is room (for a
publisher that keeps the message elsewhere: the candle builder, in the store). The dispatcher
itself never waits (a handler's publish would deadlock). ``lag()`` tells the depth and the age
of the oldest queued message; past ``warn_depth`` a warning is logged once, again after the
queue has shrunk to half.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ghostcandle.messaging.foreground import Foreground

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]


@dataclass(eq=False)
class Subscription:
    """A handle returned by ``subscribe``; ``cancel()`` unsubscribes."""

    pattern: str
    handler: Handler
    name: str
    bus: MessageBus | None = field(default=None, repr=False)

    def matches(self, topic: str) -> bool:
        """Tell whether ``topic`` is covered by this subscription's pattern."""
        if self.pattern.endswith("*"):
            return topic.startswith(self.pattern[:-1])
        return topic == self.pattern

    def cancel(self) -> None:
        """Stop receiving messages."""
        if self.bus is not None:
            self.bus.unsubscribe(self)


@dataclass(frozen=True)
class BusLag:
    """How far the threaded dispatcher is behind its publishers.

    ``depth``: messages queued now; ``oldest_age_s``: how long the oldest has waited;
    ``max_depth``: the deepest the queue has been; ``coalesced``: messages replaced by a newer
    one of their topic; ``blocked`` / ``blocked_s``: publishes that waited for room, and how
    long in all; ``warnings``: times the queue passed ``warn_depth``; ``refused``: offers
    refused for want of room.
    """

    depth: int
    oldest_age_s: float
    max_depth: int
    coalesced: int
    blocked: int
    blocked_s: float
    warnings: int
    refused: int = 0


@dataclass(eq=False, slots=True)
class _Item:
    topic: str | None  # None: the stop sentinel
    message: Any
    at: float
    alive: bool = True


class MessageBus:
    """Publish/subscribe with one in-order dispatcher (see module doc)."""

    def __init__(
        self,
        *,
        threaded: bool = False,
        name: str = "bus",
        max_queue: int | None = None,
        warn_depth: int | None = None,
    ) -> None:
        if max_queue is not None and max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self._subs: list[Subscription] = []
        self._lock = threading.RLock()
        self._pending: deque[tuple[str, Any]] = deque()
        self._dispatching = False
        self.errors: Counter[str] = Counter()
        self.delivered = 0
        self.published = 0
        self.name = name
        self.max_queue = max_queue
        self.warn_depth = (
            warn_depth
            if warn_depth is not None
            else (None if max_queue is None else max(1, max_queue // 2))
        )
        self._threaded = threaded
        self._cv = threading.Condition(threading.Lock())
        self._items: deque[_Item] = deque()
        self._latest: dict[str, _Item] = {}  # the queued message of each coalesced topic
        self._depth = 0  # live items queued
        self._unfinished = 0  # queued or being delivered
        self._closed = False
        self._warned = False
        self._max_depth = self._coalesced = self._blocked = self._warnings = self._refused = 0
        self._blocked_s = 0.0
        self._idle: list[Callable[[], None]] = []
        #: held while a burst is delivered (background work yields to it)
        self.foreground = Foreground()
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    # -- subscriptions ----------------------------------------------------------------------
    def subscribe(self, pattern: str, handler: Handler, *, name: str | None = None) -> Subscription:
        """Deliver messages whose topic matches ``pattern`` to ``handler``."""
        label = name or str(getattr(handler, "__qualname__", repr(handler)))
        sub = Subscription(pattern, handler, label, self)
        with self._lock:
            self._subs = [*self._subs, sub]
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop delivering to ``sub`` (no-op if already gone)."""
        with self._lock:
            self._subs = [s for s in self._subs if s is not sub]

    def on_idle(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` whenever the queue is drained (see module doc); return a function
        that stops it."""
        with self._lock:
            self._idle = [*self._idle, callback]

        def cancel() -> None:
            with self._lock:
                self._idle = [c for c in self._idle if c is not callback]

        return cancel

    # -- publishing -------------------------------------------------------------------------
    def publish_many(self, messages: Iterable[tuple[str, Any]]) -> None:
        """Publish ``(topic, message)`` pairs as one burst: delivered in order, then one idle."""
        items = list(messages)
        if self._threaded:
            for topic, message in items:
                self.publish(topic, message)
            return
        self.published += len(items)
        with self._lock:
            self._pending.extend(items)
            if self._dispatching:
                return
            self._dispatching = True
        self._dispatch()

    def publish(self, topic: str, message: Any, *, coalesce: bool = False) -> None:
        """Publish ``message`` on ``topic``.

        ``coalesce``: only the newest message of ``topic`` matters, so on a threaded bus it
        replaces the one of ``topic`` still queued (and never waits for room).
        """
        self.published += 1
        if self._threaded:
            self._enqueue(topic, message, coalesce)
            return
        with self._lock:
            self._pending.append((topic, message))
            if self._dispatching:
                return
            self._dispatching = True
        self._dispatch()

    def _dispatch(self) -> None:
        """Deliver the synchronous queue until it is empty after an idle call (hold the turn)."""
        self.foreground.enter()
        try:
            while True:
                with self._lock:
                    item = self._pending.popleft() if self._pending else None
                if item is not None:
                    self._deliver(*item)
                    continue
                self._idled()
                with self._lock:
                    if not self._pending:  # an idle callback may have published more
                        self._dispatching = False
                        return
        except BaseException:
            with self._lock:
                self._dispatching = False
            raise
        finally:
            self.foreground.leave()

    def offer(self, topic: str, message: Any) -> bool:
        """Publish ``message`` unless the bounded queue is full; return whether it was.

        What the publisher keeps elsewhere (the candle builder: in the store) is offered, so
        it never waits.
        """
        if self._threaded:
            with self._cv:
                if self._full() and threading.current_thread() is not self._thread:
                    self._refused += 1
                    return False
        self.publish(topic, message)
        return True

    def _deliver(self, topic: str, message: Any) -> None:
        for sub in self._subs:
            if not sub.matches(topic):
                continue
            try:
                sub.handler(message)
                self.delivered += 1
            except Exception:
                self.errors[sub.name] += 1
                log.exception("subscriber %s failed on %s; the bus goes on", sub.name, topic)

    def _idled(self) -> None:
        for callback in self._idle:
            try:
                callback()
            except Exception:
                name = str(getattr(callback, "__qualname__", repr(callback)))
                self.errors[name] += 1
                log.exception("idle callback %s failed; the bus goes on", name)

    # -- threaded mode ----------------------------------------------------------------------
    def _enqueue(self, topic: str, message: Any, coalesce: bool) -> None:
        warn = None
        with self._cv:
            if self._closed:
                return
            if coalesce:
                old = self._latest.get(topic)
                if old is not None:  # still queued: the newer one goes last instead
                    old.alive = False
                    self._depth -= 1
                    self._unfinished -= 1
                    self._coalesced += 1
            elif self._full() and threading.current_thread() is not self._thread:
                self._blocked += 1
                began = time.monotonic()
                while self._full() and not self._closed:
                    self._cv.wait(1.0)
                self._blocked_s += time.monotonic() - began
                if self._closed:
                    return
            item = _Item(topic, message, time.monotonic())
            self._items.append(item)
            if coalesce:
                self._latest[topic] = item
            self._depth += 1
            self._unfinished += 1
            self._max_depth = max(self._max_depth, self._depth)
            if self.warn_depth is not None and self._depth >= self.warn_depth and not self._warned:
                self._warned = True
                self._warnings += 1
                warn = (self._depth, time.monotonic() - self._oldest_at())
            self._cv.notify_all()
        if warn is not None:
            log.warning(
                "bus %s: %d messages queued, the oldest %.1f s old: its subscribers are slower "
                "than the feed (the live view lags)",
                self.name,
                *warn,
            )

    def _full(self) -> bool:
        return self.max_queue is not None and self._depth >= self.max_queue

    def _oldest_at(self) -> float:
        """Return when the oldest live item was queued (now when none is); hold ``_cv``."""
        while self._items and not self._items[0].alive:
            self._items.popleft()  # coalesced away: drop the husk
        return self._items[0].at if self._items else time.monotonic()

    def lag(self) -> BusLag:
        """Return how far the dispatcher is behind (all zero for a synchronous bus)."""
        with self._cv:
            age = time.monotonic() - self._oldest_at() if self._depth else 0.0
            return BusLag(
                self._depth,
                age,
                self._max_depth,
                self._coalesced,
                self._blocked,
                self._blocked_s,
                self._warnings,
                self._refused,
            )

    def _run(self) -> None:
        burst = False  # the foreground is held from a burst's first message to its idle call
        while True:
            with self._cv:
                while not self._items:
                    self._cv.wait()
                item = self._items.popleft()
                if not item.alive:
                    continue
                item.alive = False
                if item.topic is not None:
                    if self._latest.get(item.topic) is item:
                        del self._latest[item.topic]
                    self._depth -= 1
                if self.warn_depth is not None and self._depth <= self.warn_depth // 2:
                    self._warned = False
                self._cv.notify_all()  # room for a waiting publisher
            if item.topic is None:
                if burst:
                    self.foreground.leave()
                with self._cv:
                    self._unfinished = 0
                    self._cv.notify_all()
                return
            if not burst:
                self.foreground.enter()
                burst = True
            self._deliver(item.topic, item.message)
            with self._cv:
                drained = self._depth == 0
            if drained:
                self._idled()
                self.foreground.leave()
                burst = False
            with self._cv:
                self._unfinished -= 1
                if self._unfinished == 0:
                    self._cv.notify_all()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued message is delivered (threaded mode); return False on timeout."""
        if not self._threaded:
            return True
        with self._cv:
            return self._cv.wait_for(lambda: self._unfinished == 0, timeout)

    def close(self) -> None:
        """Stop the dispatch thread after delivering what is queued."""
        if self._thread is not None and self._thread.is_alive():
            with self._cv:
                self._items.append(_Item(None, None, time.monotonic()))
                self._cv.notify_all()
            self._thread.join(timeout=10)
            with self._cv:
                self._closed = True
                self._cv.notify_all()

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
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


class MessageBus:
    """Publish/subscribe with one in-order dispatcher (see module doc)."""

    def __init__(self, *, threaded: bool = False, name: str = "bus") -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.RLock()
        self._pending: deque[tuple[str, Any]] = deque()
        self._dispatching = False
        self.errors: Counter[str] = Counter()
        self.delivered = 0
        self.published = 0
        self._threaded = threaded
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
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

    # -- publishing -------------------------------------------------------------------------
    def publish(self, topic: str, message: Any) -> None:
        """Publish ``message`` on ``topic``."""
        self.published += 1
        if self._threaded:
            self._idle.clear()
            self._queue.put((topic, message))
            return
        with self._lock:
            self._pending.append((topic, message))
            if self._dispatching:
                return
            self._dispatching = True
        try:
            while True:
                with self._lock:
                    if not self._pending:
                        self._dispatching = False
                        return
                    item = self._pending.popleft()
                self._deliver(*item)
        except BaseException:
            with self._lock:
                self._dispatching = False
            raise

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

    # -- threaded mode ----------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            self._deliver(*item)
            self._queue.task_done()
            if self._queue.unfinished_tasks == 0:
                self._idle.set()

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every queued message is delivered (threaded mode); return False on timeout."""
        if not self._threaded:
            return True
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop the dispatch thread after delivering what is queued."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=10)

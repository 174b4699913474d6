"""Push to the browser: any thread publishes, every open Server-Sent-Events stream receives."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PushEvent:
    """One message for the page: ``kind`` names the panel (``training``, ``live`` ...).

    ``sent_ms`` is when it was published (epoch ms, the server's clock); the wire format
    carries it as the event's ``id`` (the page's ``lastEventId``), so the page can tell how
    long an update took from the engine to the screen (``bench/bench_web_paint.py``).
    """

    kind: str
    data: dict[str, Any]
    sent_ms: float = field(default_factory=lambda: time.time() * 1000.0)

    def to_sse(self) -> str:
        """Return the event in the text/event-stream wire format."""
        body = json.dumps(self.data, default=str)
        return f"event: {self.kind}\nid: {self.sent_ms:.3f}\ndata: {body}\n\n"


class EventHub:
    """Fan out events from engine threads to the asyncio streams of connected pages."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subs: set[asyncio.Queue[PushEvent | None]] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on ``loop`` (the server's event loop)."""
        self._loop = loop

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send an event to every subscriber; safe to call from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        event = PushEvent(kind, data)
        with self._lock:
            subs = list(self._subs)
        for q in subs:
            loop.call_soon_threadsafe(self._offer, q, event)

    def close(self) -> None:
        """End every open stream."""
        loop = self._loop
        with self._lock:
            subs = list(self._subs)
        if loop is not None and not loop.is_closed():
            for q in subs:
                loop.call_soon_threadsafe(self._offer, q, None)

    def _offer(self, q: asyncio.Queue[PushEvent | None], event: PushEvent | None) -> None:
        try:
            q.put_nowait(event)
        except asyncio.QueueFull:
            # a stalled page must not hold the engine back: it misses events, counted here
            self.dropped += 1

    async def stream(self, heartbeat_s: float = 15.0) -> AsyncIterator[str]:
        """Yield SSE text for one page until the hub closes; comments keep proxies awake."""
        q: asyncio.Queue[PushEvent | None] = asyncio.Queue(self._queue_size)
        with self._lock:
            self._subs.add(q)
        try:
            yield ": connected\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(q.get(), heartbeat_s)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if event is None:
                    return
                yield event.to_sse()
        finally:
            with self._lock:
                self._subs.discard(q)

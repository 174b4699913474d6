"""Keep the latest top-20 book per symbol and store a compact snapshot of it every second."""

from __future__ import annotations

import threading

from ghostcandle.feeds.binance_format import DepthUpdate
from ghostcandle.store.depth import DepthSnapshot, DepthStore


class DepthRecorder:
    """Collect depth updates (any thread) and ``flush`` one snapshot per symbol per period."""

    def __init__(self, store: DepthStore, *, period_ms: int = 1000, source: str = "") -> None:
        self.store = store
        self.period_ms = period_ms
        self.source = source
        self._latest: dict[str, DepthUpdate] = {}
        self._last_written: dict[str, int] = {}
        self._last_id: dict[str, int] = {}
        self._lock = threading.Lock()
        self.snapshots = 0

    def offer(self, update: DepthUpdate) -> None:
        """Remember ``update`` as the symbol's current book."""
        with self._lock:
            self._latest[update.symbol] = update

    def flush(self, now_ms: int) -> int:
        """Store the current book of every symbol not yet stored this period; return how many.

        A row is labelled with the *end* of the period it was taken in: the book was known by
        then, so a decision at ``t`` reading rows at or before ``t`` never sees a later book.
        """
        slot = now_ms - now_ms % self.period_ms + self.period_ms
        with self._lock:
            due = [
                DepthSnapshot(u.symbol, slot, u.last_update_id, u.bids, u.asks)
                for s, u in self._latest.items()
                if self._last_written.get(s) != slot and self._last_id.get(s) != u.last_update_id
            ]
            for snap in due:
                self._last_written[snap.symbol] = slot
                self._last_id[snap.symbol] = snap.last_update_id
        written = self.store.write(due, source=self.source)
        self.snapshots += written
        return written

"""Keep the latest top-20 book per symbol and store a compact snapshot of it every second.

A book that cannot be a market (crossed, one-sided, empty, unordered: ``book_problem``) is not
stored; it is counted by reason, once per period it was current in.
"""

from __future__ import annotations

import threading
from collections import Counter

from ghostcandle.domain.order_book import book_problem
from ghostcandle.feeds.binance_format import DepthUpdate
from ghostcandle.store.depth import DepthSnapshot, DepthStore


class DepthRecorder:
    """Collect depth updates (any thread) and ``flush`` one snapshot per symbol per period."""

    def __init__(self, store: DepthStore, *, period_ms: int = 1000, source: str = "") -> None:
        self.store = store
        self.period_ms = period_ms
        self.source = source
        self._latest: dict[str, tuple[DepthUpdate, int | None]] = {}
        self._last_written: dict[str, int] = {}
        self._last_id: dict[str, int] = {}
        self._lock = threading.Lock()
        self.snapshots = 0
        #: books not stored, by reason
        self.rejected: Counter[str] = Counter()

    def offer(self, update: DepthUpdate, known_levels: int | None = None) -> None:
        """Remember ``update`` as the symbol's current book (``known_levels``: a local book's)."""
        with self._lock:
            self._latest[update.symbol] = (update, known_levels)

    def flush(self, now_ms: int) -> int:
        """Store the current book of every symbol not yet stored this period; return how many.

        A row is labelled with the *end* of the period it was taken in: the book was known by
        then, so a decision at ``t`` reading rows at or before ``t`` never sees a later book.
        """
        slot = now_ms - now_ms % self.period_ms + self.period_ms
        due = []
        with self._lock:
            for s, (u, known) in self._latest.items():
                if self._last_written.get(s) == slot or self._last_id.get(s) == u.last_update_id:
                    continue
                self._last_written[s] = slot
                self._last_id[s] = u.last_update_id
                problem = book_problem(u.bids, u.asks)
                if problem is not None:
                    self.rejected[problem] += 1
                    continue
                due.append(
                    DepthSnapshot(s, slot, u.last_update_id, u.bids, u.asks, known_levels=known)
                )
        written = self.store.write(due, source=self.source)
        self.snapshots += written
        return written

    def counters(self) -> dict[str, int]:
        """Return the snapshots stored and the books rejected (in all and by reason)."""
        with self._lock:
            rejected = dict(self.rejected)
        return {
            "depth_snapshots": self.snapshots,
            "depth_rejected": sum(rejected.values()),
            **{f"depth_rejected_{k}": v for k, v in rejected.items()},
        }

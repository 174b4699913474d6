"""Live local order books: Binance's diff stream kept true with REST snapshots (``--depth diff``).

The protocol (spot ``<sym>@depth@100ms``): open the stream and buffer its diffs; fetch a REST
snapshot (``/api/v3/depth?limit=1000``); drop buffered diffs the snapshot already holds, apply
the rest, then every new diff. The sequence rules (stale, continuing, gap) are
``domain.order_book.LocalBook``'s; here is what each outcome means for a live feed:

- a diff while the symbol waits for its snapshot is buffered (the first one asks for it);
- a stale diff (``u <= lastUpdateId``) is dropped and counted;
- a gap (``U > last + 1``: updates were lost) clears the book, counts the gap and resynchronises:
  the book is rebuilt from a new snapshot and the diffs after the gap;
- a snapshot older than the first buffered diff (``lastUpdateId + 1 < U``) is not enough: a new
  one is fetched (counted as ``book_snapshots_behind``);
- a reconnection loses diffs too: every book resynchronises.

Only a synced book is offered (top 20 per side) to the per-second recorder, which rejects a
crossed or empty one with its reason (``feeds/depth.py``). Diffs arrive on the feed's event loop
while the recorder reads from another thread: a lock guards the books.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from ghostcandle.domain.errors import GhostcandleError
from ghostcandle.domain.order_book import DiffUpdate, LocalBook
from ghostcandle.feeds.binance_format import DEPTH_LEVELS, DepthUpdate
from ghostcandle.feeds.config import FeedConfig
from ghostcandle.feeds.rest import BinanceRest

log = logging.getLogger(__name__)

#: Diffs buffered while a snapshot is on its way (100 s of a 100 ms stream).
BUFFERED_DIFFS = 1000
#: Counter names, all shown in the feed's health (``ghostcandle status``, ``GET /api/feed``).
COUNTERS = (
    "book_diffs",
    "book_applied",
    "book_replayed",
    "book_dropped",
    "book_gaps",
    "book_resyncs",
    "book_snapshots",
    "book_snapshots_behind",
    "book_snapshot_failures",
)


@dataclass
class _Symbol:
    book: LocalBook = field(default_factory=LocalBook)
    buffer: deque[DiffUpdate] = field(default_factory=lambda: deque(maxlen=BUFFERED_DIFFS))
    synced: bool = False
    fetching: bool = False
    ever_synced: bool = False
    offered_id: int | None = None


class LiveBooks:
    """One ``LocalBook`` per symbol, its buffer while it syncs, and the counters."""

    def __init__(self, symbols: Iterable[str], *, levels: int = DEPTH_LEVELS) -> None:
        self.levels = levels
        self._books = {s: _Symbol() for s in symbols}
        self._counts: Counter[str] = Counter({name: 0 for name in COUNTERS})
        self._lock = threading.Lock()

    def diff(self, symbol: str, d: DiffUpdate) -> bool:
        """Take one diff; return True when the caller must fetch ``symbol``'s snapshot now."""
        with self._lock:
            s = self._books.get(symbol)
            if s is None:
                self._counts["book_other_symbol"] += 1
                return False
            self._counts["book_diffs"] += 1
            if not s.synced:
                s.buffer.append(d)
                return self._claim(s)
            result = s.book.apply(d)
            if result == "applied":
                self._counts["book_applied"] += 1
                return False
            if result == "stale":
                self._counts["book_dropped"] += 1
                return False
            self._counts["book_gaps"] += 1
            self._resync(s, [d])
            return self._claim(s)

    def snapshot(self, symbol: str, snap: DepthUpdate) -> bool:
        """Load a REST snapshot and replay the buffered diffs on it.

        Return True when it was not enough (older than the stream, or a gap among the buffered
        diffs) and another snapshot must be fetched.
        """
        with self._lock:
            s = self._books[symbol]
            s.fetching = False
            self._counts["book_snapshots"] += 1
            s.book.load_snapshot(snap.last_update_id, snap.bids, snap.asks)
            pending = list(s.buffer)
            s.buffer.clear()
            applied = 0
            for i, d in enumerate(pending):
                result = s.book.apply(d)
                if result == "stale":
                    self._counts["book_dropped"] += 1
                    continue
                if result == "gap":
                    self._counts["book_gaps" if applied else "book_snapshots_behind"] += 1
                    self._resync(s, pending[i:])
                    return self._claim(s)
                applied += 1
                self._counts["book_applied"] += 1
                self._counts["book_replayed"] += 1
            s.synced = s.ever_synced = True
            return False

    def snapshot_failed(self, symbol: str, *, retrying: bool) -> None:
        """Count a snapshot that could not be fetched (``retrying``: the caller asks again)."""
        with self._lock:
            self._counts["book_snapshot_failures"] += 1
            if not retrying:
                self._books[symbol].fetching = False

    def reconnected(self) -> None:
        """Diffs were lost with the connection: every book resynchronises from a snapshot."""
        with self._lock:
            for s in self._books.values():
                if s.synced or s.buffer:
                    self._resync(s, [])

    def tops(self) -> list[tuple[DepthUpdate, int]]:
        """Return the top levels and known level count of every synced book changed since the
        last call (what the per-second recorder stores).
        """
        out = []
        with self._lock:
            for symbol, s in self._books.items():
                if not s.synced or s.book.last_id is None or s.book.last_id == s.offered_id:
                    continue
                s.offered_id = s.book.last_id
                bids, asks = s.book.top(self.levels)
                out.append((DepthUpdate(symbol, s.book.last_id, bids, asks), s.book.known_levels))
        return out

    def synced(self) -> list[str]:
        """Return the symbols whose book is synced now."""
        with self._lock:
            return [sym for sym, s in self._books.items() if s.synced]

    def counters(self) -> dict[str, int]:
        """Return the counters (names in ``COUNTERS``) and how many books are synced."""
        with self._lock:
            out = dict(self._counts)
            out["book_synced"] = sum(s.synced for s in self._books.values())
        return out

    # -- inside (lock held) ------------------------------------------------------------------
    def _resync(self, s: _Symbol, keep: list[DiffUpdate]) -> None:
        s.synced = False
        s.book.clear()
        s.buffer.clear()
        s.buffer.extend(keep)
        if s.ever_synced or keep:
            self._counts["book_resyncs"] += 1

    @staticmethod
    def _claim(s: _Symbol) -> bool:
        if s.fetching:
            return False
        s.fetching = True
        return True


def book_summary(counters: dict[str, int]) -> str:
    """Summarise the local books' counters in one line (``ghostcandle live`` and ``status``)."""
    c = counters
    rejected = ", ".join(
        f"{k.removeprefix('depth_rejected_')} {v}"
        for k, v in sorted(c.items())
        if k.startswith("depth_rejected_")
    )
    return (
        f"local book: {c.get('book_snapshots', 0)} snapshots, {c.get('book_gaps', 0)} gaps, "
        f"{c.get('book_resyncs', 0)} resyncs, {c.get('book_dropped', 0)} diffs dropped, "
        f"{c.get('depth_rejected', 0)} books rejected" + (f" ({rejected})" if rejected else "")
    )


async def fetch_snapshots(
    books: LiveBooks,
    rest: BinanceRest,
    symbol: str,
    config: FeedConfig,
    sleep_or_stop: Callable[[float], Awaitable[bool]],
) -> str:
    """Fetch ``symbol``'s REST snapshot into ``books`` until one is enough; return the last error.

    A failed fetch is retried with backoff (the REST client already waits out 429s); a snapshot
    that is not enough is followed by another after ``reconnect_min_s``. Stops when asked to.
    """
    delay = config.reconnect_min_s
    error = ""
    while True:
        try:
            snap = await rest.depth(symbol, limit=config.depth_snapshot_limit)
        except GhostcandleError as exc:
            error = str(exc)
            log.warning("feed %s: %s book snapshot failed: %s", config.name, symbol, exc)
            books.snapshot_failed(symbol, retrying=True)
            wait, delay = delay, min(config.reconnect_max_s, delay * 2)
        else:
            if not books.snapshot(symbol, snap):
                return error
            log.info("feed %s: %s snapshot not enough: fetching again", config.name, symbol)
            wait = config.reconnect_min_s
        if await sleep_or_stop(wait):
            books.snapshot_failed(symbol, retrying=False)
            return error

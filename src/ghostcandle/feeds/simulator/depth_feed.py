"""The simulator's depth side: every symbol's ``SimBook`` stepped on the depth tick, its streams
(``<sym>@depth20@100ms`` partial books, ``<sym>@depth@100ms`` diffs), its REST snapshot, and the
depth faults (a diff withheld: a sequence gap; a bid held above the ask: a crossed book).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ghostcandle.domain.order_book import Levels
from ghostcandle.feeds.binance_format import DEPTH_LEVELS, depth_stream, diff_depth_stream
from ghostcandle.feeds.simulator.book import SimBook
from ghostcandle.feeds.simulator.faults import Faults

if TYPE_CHECKING:
    from ghostcandle.feeds.simulator.market import Market

Broadcast = Callable[[str, dict[str, Any]], None]


class SimDepth:
    """The books of ``market``'s symbols (made on first use) and the depth faults."""

    def __init__(self, market: Market, seed: int, faults: Faults) -> None:
        self.market = market
        self.seed = seed
        self.faults = faults
        self.books: dict[str, SimBook] = {}
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()  # injections come from other threads (tests)
        self._skip: Counter[str] = Counter()
        self._cross: dict[str, int] = {}

    def book_of(self, symbol: str) -> SimBook:
        """Return ``symbol``'s book."""
        book = self.books.get(symbol)
        if book is None:
            book = self.books[symbol] = SimBook(symbol, self.seed)
        return book

    def snapshot(self, symbol: str, t_ms: int, limit: int) -> dict[str, Any] | None:
        """Return the REST depth answer of ``symbol`` now, or None before trading began.

        A book never stepped yet starts here (no client can have missed a diff of it).
        """
        book = self.book_of(symbol)
        if not book.started:
            mid = self.market.series[symbol].last_price(t_ms)
            if mid is None:
                return None
            book.step(mid, t_ms)
        return book.snapshot(limit)

    def top_at(self, symbol: str, update_id: int) -> tuple[Levels, Levels] | None:
        """Return ``symbol``'s best 20 levels per side after ``update_id`` (None: not kept)."""
        book = self.books.get(symbol)
        return None if book is None else book.top_at(update_id)

    def inject_gap(self, symbol: str, diffs: int = 1) -> None:
        """Withhold the next ``diffs`` diffs of ``symbol`` from every client (a sequence gap)."""
        with self._lock:
            self._skip[symbol] += diffs

    def inject_crossed(self, symbol: str, steps: int = 15) -> None:
        """Hold a bid above the best ask of ``symbol`` for the next ``steps`` diffs."""
        with self._lock:
            self._cross[symbol] = steps

    def tick(self, now: int, subscribed: set[str], broadcast: Broadcast) -> None:
        """Step the book of every symbol whose depth someone follows; send what they follow."""
        f = self.faults
        for symbol in self.market.symbols:
            partial, diffs = depth_stream(symbol), diff_depth_stream(symbol)
            if partial not in subscribed and diffs not in subscribed:
                continue
            mid = self.market.series[symbol].last_price(now)
            if mid is None:
                continue
            book = self.book_of(symbol)
            n = book.steps + 1
            with self._lock:
                cross = self._cross.pop(symbol, 0)
                skip = self._skip[symbol] > 0
                if skip:
                    self._skip[symbol] -= 1
            if f.crossed_book_every and n % f.crossed_book_every == 0:
                cross = max(cross, f.crossed_book_for)
            if cross:
                book.cross_for(cross)
                self.stats["crossed"] += 1
            diff = book.step(mid, now)
            self.stats["diffs"] += 1
            if f.depth_gap_every and n % f.depth_gap_every == 0:
                skip = True
            if diffs in subscribed:
                if skip:
                    self.stats["gaps"] += 1
                else:
                    broadcast(diffs, diff)
            if partial in subscribed:
                broadcast(partial, book.snapshot(DEPTH_LEVELS))

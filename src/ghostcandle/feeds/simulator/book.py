"""The simulator's order book of one symbol: a full book that follows the market, by diffs.

Every depth tick ``step(mid)`` moves the book to the market's price (levels on the wrong side
of the touch go, the touch and enough levels behind it are filled, a few quantities change,
the farthest levels beyond ``levels`` per side are trimmed) and returns the diff as Binance's
``depthUpdate`` (quantity 0 removes a level) under consecutive update ids ``U..u``. The REST
snapshot, the ``depth20`` stream and the diff stream all read this one book, so a client that
follows the local-book protocol rebuilds exactly the book held here; ``top_at(u)`` tells what
its best levels were after any recent update.

Prices sit on a tick grid fixed by the first price seen; quantities are rounded to what the
wire carries (8 decimals), so what is sent equals what is recorded.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from typing import Any

import numpy as np

from ghostcandle.domain.order_book import Levels
from ghostcandle.domain.symbols import exchange_symbol
from ghostcandle.feeds.binance_format import DEPTH_LEVELS, fmt

#: Levels kept per side (a REST snapshot may ask for up to this many).
BOOK_LEVELS = 100
#: Update ids whose top levels are remembered for ``top_at``.
HISTORY = 20_000
FIRST_UPDATE_ID = 1_000_000


def _wire(x: float) -> float:
    return float(fmt(x))


class SimBook:
    """One symbol's full book (tick index -> quantity per side) and its update id."""

    def __init__(self, symbol: str, seed: int, *, levels: int = BOOK_LEVELS) -> None:
        self.symbol = symbol
        self.levels = levels
        self._rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
        self.tick = 0.0
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self.last_id = FIRST_UPDATE_ID
        self.steps = 0
        self._history: dict[int, tuple[Levels, Levels, int]] = {}
        self._order: deque[int] = deque()
        self._cross_left = 0
        self._rogue: int | None = None  # the bid index held above the best ask while crossed

    @property
    def started(self) -> bool:
        """Tell whether the book has levels yet (it starts at the first price it is given)."""
        return bool(self.bids)

    def cross_for(self, steps: int) -> None:
        """Hold a bid above the best ask for the next ``steps`` steps (a crossed book)."""
        self._cross_left = max(self._cross_left, steps)

    def step(self, mid: float, t_ms: int) -> dict[str, Any]:
        """Move the book to ``mid``; return the ``depthUpdate`` object of what changed."""
        if not self.tick:
            self.tick = max(0.01, round(mid * 1e-5, 2))
        bb = math.floor(mid / self.tick)
        ba = bb + 1
        changed_b: dict[int, float] = {}
        changed_a: dict[int, float] = {}
        for i in [i for i in self.bids if i > bb and i != self._rogue]:
            self._set(self.bids, changed_b, i, 0.0)
        for i in [i for i in self.asks if i < ba]:
            self._set(self.asks, changed_a, i, 0.0)
        self._fill(self.bids, changed_b, bb, -1)
        self._fill(self.asks, changed_a, ba, +1)
        for side, changed, sign in ((self.bids, changed_b, -1), (self.asks, changed_a, 1)):
            for _ in range(int(self._rng.integers(1, 5))):  # a few quantities near the touch
                i = (bb if sign < 0 else ba) + sign * int(self._rng.integers(0, DEPTH_LEVELS))
                if i in side and i != self._rogue:
                    self._set(side, changed, i, self._qty())
        self._cross(changed_b, bb, ba)
        first = self.last_id + 1
        self.last_id += max(1, len(changed_b) + len(changed_a))
        self.steps += 1
        self._remember(t_ms)
        return {
            "e": "depthUpdate",
            "E": t_ms,
            "s": exchange_symbol(self.symbol),
            "U": first,
            "u": self.last_id,
            "b": [[fmt(self._price(i)), fmt(q)] for i, q in sorted(changed_b.items())],
            "a": [[fmt(self._price(i)), fmt(q)] for i, q in sorted(changed_a.items())],
        }

    def snapshot(self, limit: int) -> dict[str, Any]:
        """Return the REST ``/api/v3/depth`` answer: the best ``limit`` levels per side."""
        bids, asks = self.top(limit)
        return {
            "lastUpdateId": self.last_id,
            "bids": [[fmt(p), fmt(q)] for p, q in bids],
            "asks": [[fmt(p), fmt(q)] for p, q in asks],
        }

    def top(self, n: int) -> tuple[Levels, Levels]:
        """Return the best ``n`` bids (descending) and asks (ascending) as wire prices."""
        bids = tuple((self._price(i), self.bids[i]) for i in sorted(self.bids, reverse=True)[:n])
        asks = tuple((self._price(i), self.asks[i]) for i in sorted(self.asks)[:n])
        return bids, asks

    def top_at(self, update_id: int) -> tuple[Levels, Levels] | None:
        """Return the best 20 levels per side after update ``update_id`` (None: not kept)."""
        kept = self._history.get(update_id)
        return None if kept is None else kept[:2]

    def made_at(self, update_id: int) -> int | None:
        """Return the event time (simulated ms) of the diff that ended at ``update_id``."""
        kept = self._history.get(update_id)
        return None if kept is None else kept[2]

    # -- inside ------------------------------------------------------------------------------
    def _price(self, i: int) -> float:
        return _wire(i * self.tick)

    def _qty(self) -> float:
        return _wire(round(float(self._rng.lognormal(0.0, 1.0)), 4) + 0.0001)

    @staticmethod
    def _set(side: dict[int, float], changed: dict[int, float], i: int, q: float) -> None:
        if q > 0:
            side[i] = q
        else:
            side.pop(i, None)
        changed[i] = q

    def _fill(
        self, side: dict[int, float], changed: dict[int, float], touch: int, away: int
    ) -> None:
        """Fill the touch and levels behind it (with holes) up to ``levels``; trim the rest."""
        if touch not in side:
            self._set(side, changed, touch, self._qty())
        i = touch
        while len(side) < self.levels:
            i += away
            if i not in side and self._rng.random() < 0.7:
                self._set(side, changed, i, self._qty())
        while len(side) > self.levels:
            far = min(side) if away < 0 else max(side)
            self._set(side, changed, far, 0.0)

    def _cross(self, changed_b: dict[int, float], bb: int, ba: int) -> None:
        if self._cross_left > 0:
            self._cross_left -= 1
            if self._rogue is None:
                self._rogue = ba + 1
                self._set(self.bids, changed_b, self._rogue, self._qty())
        elif self._rogue is not None:
            if self._rogue > bb:  # still above the touch: take it away
                self._set(self.bids, changed_b, self._rogue, 0.0)
            self._rogue = None

    def _remember(self, t_ms: int) -> None:
        self._history[self.last_id] = (*self.top(DEPTH_LEVELS), t_ms)
        self._order.append(self.last_id)
        if len(self._order) > HISTORY:
            self._history.pop(self._order.popleft(), None)

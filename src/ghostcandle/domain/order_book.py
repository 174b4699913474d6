"""A local order book kept from Binance diff updates, with the sequence rules of the protocol.

Binance's local-book protocol (spot ``<symbol>@depth@100ms``): every diff carries the first and
last update id it covers (``U``, ``u``). A book loaded from a REST snapshot with
``lastUpdateId = L`` takes the first diff with ``U <= L + 1 <= u`` and every later diff must
start exactly one after the previous one ended (``U == last + 1``). A diff that ends at or
before the book (``u <= last``) is stale and dropped; one that starts after ``last + 1`` means
updates were lost: the book is no longer true (a *gap*) and must be resynchronised.

A book started from diffs alone (a recording without a REST snapshot) only knows the levels
some diff has set; ``known_levels`` counts them and ``from_snapshot`` tells the two apart.

>>> b = LocalBook()
>>> b.load_snapshot(10, [(100.0, 1.0)], [(101.0, 2.0)])
>>> b.apply(DiffUpdate(0, 11, 11, ((100.0, 0.0), (99.5, 3.0)), ()))
'applied'
>>> b.top(5)
(((99.5, 3.0),), ((101.0, 2.0),))
>>> b.apply(DiffUpdate(0, 13, 14, (), ()))
'gap'
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Levels = tuple[tuple[float, float], ...]
#: What to do when a model that reads the book finds none stored.
HOW_TO_GET_DEPTH = (
    "record the order book with `ghostcandle live` (depth on, the default) "
    "or import recordings with `ghostcandle ingest-depth FILE...`"
)
Applied = Literal["applied", "stale", "gap"]


@dataclass(frozen=True, slots=True)
class DiffUpdate:
    """One diff: levels to set (quantity 0 removes the level) for update ids ``first..last``."""

    event_time: int
    first_id: int
    last_id: int
    bids: Levels
    asks: Levels


class LocalBook:
    """Price -> quantity per side, and the last update id applied."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.last_id: int | None = None
        #: True once loaded from a full snapshot; False while built from diffs alone
        self.from_snapshot = False

    def load_snapshot(
        self,
        last_update_id: int,
        bids: Iterable[tuple[float, float]],
        asks: Iterable[tuple[float, float]],
    ) -> None:
        """Replace the whole book by a REST snapshot taken at ``last_update_id``."""
        self.bids = {p: q for p, q in bids if q > 0}
        self.asks = {p: q for p, q in asks if q > 0}
        self.last_id = last_update_id
        self.from_snapshot = True

    def clear(self) -> None:
        """Forget everything (after a gap, before resynchronising)."""
        self.bids, self.asks = {}, {}
        self.last_id = None
        self.from_snapshot = False

    def apply(self, diff: DiffUpdate) -> Applied:
        """Apply ``diff`` if it continues the book; say ``stale`` or ``gap`` otherwise.

        A book with no update id yet (neither snapshot nor diff seen) takes any diff.
        """
        if self.last_id is not None:
            if diff.last_id <= self.last_id:
                return "stale"
            if diff.first_id > self.last_id + 1:
                return "gap"
        _set(self.bids, diff.bids)
        _set(self.asks, diff.asks)
        self.last_id = diff.last_id
        return "applied"

    @property
    def known_levels(self) -> int:
        """Return how many price levels (both sides) hold a known quantity."""
        return len(self.bids) + len(self.asks)

    def top(self, n: int) -> tuple[Levels, Levels]:
        """Return the best ``n`` bids (descending) and asks (ascending)."""
        bids = tuple((p, self.bids[p]) for p in heapq.nlargest(n, self.bids))
        asks = tuple((p, self.asks[p]) for p in heapq.nsmallest(n, self.asks))
        return bids, asks


def _set(side: dict[float, float], levels: Sequence[tuple[float, float]]) -> None:
    for p, q in levels:
        if q > 0:
            side[p] = q
        else:
            side.pop(p, None)


def book_problem(bids: Levels, asks: Levels) -> str | None:
    """Return why a top-of-book snapshot is unusable (``empty``, ``one_sided``, ``crossed``,
    ``unordered``, ``non_positive``), or None when it is a valid book.
    """
    if not bids and not asks:
        return "empty"
    if not bids or not asks:
        return "one_sided"
    for p, q in (*bids, *asks):
        if not (math.isfinite(p) and math.isfinite(q)) or p <= 0 or q <= 0:
            return "non_positive"
    if any(bids[i][0] <= bids[i + 1][0] for i in range(len(bids) - 1)) or any(
        asks[i][0] >= asks[i + 1][0] for i in range(len(asks) - 1)
    ):
        return "unordered"
    if bids[0][0] >= asks[0][0]:
        return "crossed"
    return None

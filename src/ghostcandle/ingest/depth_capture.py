"""One symbol's book rebuilt from a raw Binance recording, cut into per-second snapshots.

The recording's ``depth@100ms`` diffs update a ``LocalBook`` (sequence rules in
``domain/order_book.py``). A REST snapshot line (``{"lastUpdateId": ...}``), when the recorder
kept one, resynchronises the book: the recent diffs are replayed on it and the book counts as
*synced*. Without one the book is built from diffs alone and only knows the levels a diff set.

Time: the book at second ``T`` is the book after every diff whose event time ``E <= T``; it is
cut when the first diff with ``E > T`` arrives (so it was known at ``T``). Trades are summed per
second ``[T - 1000, T)`` (the 1s candle that closes at ``T``) by taker side.

Warm-up rule: a synced book is kept from its first second on. A book built from diffs alone is
kept only once it has ``levels`` known levels on each side *and* ``warmup_ms`` of continuous
diffs have passed since it started (default 300 s: on the 2024-08-08 captures, which hold a REST
snapshot to compare with, a diffs-only BTCUSDT book still differed inside its top 20 after
247 s, as the price reached levels no diff had touched yet; ETHUSDT agreed after 8.4 s). A gap
(``U > last + 1``) clears the book and starts a diffs-only book from the diff after it (counted).
A crossed, one-sided or empty top is rejected with its reason and counted.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from ghostcandle.domain.order_book import DiffUpdate, LocalBook, book_problem
from ghostcandle.store.depth import DepthSnapshot

#: Diffs kept to replay on a REST snapshot that arrives after them (Binance's buffering step).
BUFFERED_DIFFS = 200
#: Default warm-up of a book built from diffs alone (see the module docstring).
WARMUP_MS = 300_000
SECOND = 1000


@dataclass
class CaptureCounts:
    """What happened to one symbol's messages and seconds."""

    diffs: int = 0
    applied: int = 0
    stale: int = 0
    gaps: int = 0
    rest_snapshots: int = 0
    book_tickers: int = 0
    touch_checked: int = 0
    touch_mismatch: int = 0
    trades: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    known_levels_min: int | None = None
    known_levels_max: int | None = None

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "diffs": self.diffs,
            "applied": self.applied,
            "stale": self.stale,
            "gaps": self.gaps,
            "resyncs": self.gaps + self.rest_snapshots,
            "rest_snapshots": self.rest_snapshots,
            "book_tickers": self.book_tickers,
            "touch_checked": self.touch_checked,
            "touch_mismatch": self.touch_mismatch,
            "trades": self.trades,
            "snapshots_kept": self.kept,
            "snapshots_rejected": dict(sorted(self.rejected.items())),
            "known_levels": [self.known_levels_min, self.known_levels_max],
        }


class SymbolCapture:
    """The book, the second grid and the trade flow of one symbol across a run's files."""

    def __init__(self, symbol: str, *, levels: int = 20, warmup_ms: int = WARMUP_MS) -> None:
        self.symbol = symbol
        self.levels = levels
        self.warmup_ms = warmup_ms
        self.book = LocalBook()
        self.counts = CaptureCounts()
        self.snapshots: list[DepthSnapshot] = []
        #: second end -> [taker buy volume, taker sell volume, trades]
        self.flow: dict[int, list[float]] = {}
        self._recent: deque[DiffUpdate] = deque(maxlen=BUFFERED_DIFFS)
        # bookTicker touch by update id: where a diff ends at an id a ticker named, the synced
        # book must have the same touch (a check of the rebuilt book against the exchange's)
        self._ticker_touch: dict[int, tuple[float, float]] = {}
        self._next_cut: int | None = None
        self._started_at: int | None = None  # first event time of a diffs-only book

    def diff(self, d: DiffUpdate) -> None:
        """Cut the seconds that ``d`` closes, then apply it (or resynchronise on a gap)."""
        self.counts.diffs += 1
        self._cut_until(d.event_time)
        self._recent.append(d)
        result = self.book.apply(d)
        if result == "stale":
            self.counts.stale += 1
            return
        if result == "gap":
            self.counts.gaps += 1
            self.book.clear()
            self.book.apply(d)
            self._started_at = d.event_time
        elif self._started_at is None and not self.book.from_snapshot:
            self._started_at = d.event_time
        self.counts.applied += 1
        seen = self._ticker_touch.pop(d.last_id, None)
        if seen is not None and self.book.from_snapshot and self.book.bids and self.book.asks:
            self.counts.touch_checked += 1
            self.counts.touch_mismatch += seen != (max(self.book.bids), min(self.book.asks))
        if self._next_cut is None:
            # the book after this diff is the book of the second it falls in (ceiling)
            self._next_cut = -(-d.event_time // SECOND) * SECOND

    def rest_snapshot(
        self,
        last_update_id: int,
        bids: tuple[tuple[float, float], ...],
        asks: tuple[tuple[float, float], ...],
    ) -> None:
        """Load a REST snapshot and replay the buffered diffs that continue it."""
        self.counts.rest_snapshots += 1
        self.book.load_snapshot(last_update_id, bids, asks)
        self._started_at = None
        for d in self._recent:
            result = self.book.apply(d)
            if result == "gap":  # the snapshot is older than every buffered diff's start
                self.counts.gaps += 1
                self.book.clear()
                self.book.apply(d)
                self._started_at = d.event_time

    def book_ticker(self, update_id: int, bid: float, ask: float) -> None:
        """Remember a bookTicker's touch to check the book when a diff ends at its id."""
        self.counts.book_tickers += 1
        self._ticker_touch[update_id] = (bid, ask)
        if len(self._ticker_touch) > 4 * BUFFERED_DIFFS:
            for key in list(self._ticker_touch)[:BUFFERED_DIFFS]:  # the oldest: no diff ended there
                del self._ticker_touch[key]

    def trade(self, trade_time: int, qty: float, buyer_is_maker: bool) -> None:
        """Add a trade to the flow of the second it belongs to."""
        self.counts.trades += 1
        end = (trade_time // SECOND + 1) * SECOND
        f = self.flow.setdefault(end, [0.0, 0.0, 0])
        f[1 if buyer_is_maker else 0] += qty  # the buyer as maker means a taker sold
        f[2] += 1

    def finish(self) -> list[DepthSnapshot]:
        """Return the kept snapshots with their trade flow (zero where no trade happened)."""
        traded = self.counts.trades > 0
        out = []
        for s in self.snapshots:
            f = self.flow.get(s.time, [0.0, 0.0, 0])
            flow = (f[0], f[1], int(f[2])) if traded else None
            out.append(
                DepthSnapshot(
                    s.symbol, s.time, s.last_update_id, s.bids, s.asks,
                    totals=s.totals, known_levels=s.known_levels, flow=flow,
                )
            )  # fmt: skip
        return out

    def _cut_until(self, event_time: int) -> None:
        while self._next_cut is not None and self._next_cut < event_time:
            self._keep_or_reject(self._next_cut)
            self._next_cut += SECOND

    def _keep_or_reject(self, t: int) -> None:
        book = self.book
        if not book.from_snapshot:
            short = min(len(book.bids), len(book.asks)) < self.levels
            young = self._started_at is None or t - self._started_at < self.warmup_ms
            if short or young:
                self.counts.rejected["warmup"] += 1
                return
        bids, asks = book.top(self.levels)
        problem = book_problem(bids, asks)
        if problem is not None:
            self.counts.rejected[problem] += 1
            return
        known = book.known_levels
        c = self.counts
        c.kept += 1
        c.known_levels_min = known if c.known_levels_min is None else min(c.known_levels_min, known)
        c.known_levels_max = known if c.known_levels_max is None else max(c.known_levels_max, known)
        totals = (sum(q for _, q in bids), sum(q for _, q in asks), self.levels)
        assert book.last_id is not None
        self.snapshots.append(
            DepthSnapshot(
                self.symbol, t, book.last_id, bids, asks, totals=totals, known_levels=known
            )
        )

"""The candle builder: closed candles in, stored candles and ``CandleCompletionEvent``s out.

Candles arrive from the WebSocket and from REST gap fills, possibly late, twice or out of
order. Per series the builder stores and publishes them strictly in open-time order with no
gap: a candle that arrives ahead of a missing one waits, and the missing range is asked for
(``on_gap``). Only when the exchange has been asked for a range and had nothing there is the
hole accepted (``covered``). Writes are batched across series in one transaction.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.feeds.candle_writer import write_closed
from ghostcandle.feeds.publish_backlog import PublishBacklog
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

log = logging.getLogger(__name__)

Series = tuple[str, str]
#: Lag samples kept (the newest; 32 bytes each): more than a bench's run of closes at 10x
#: (bench_feeds: 5,000), a few minutes of a sped-up feed, 640 KB at most. 200,000 grew a
#: serve at 30x by ~58 KB a minute for nearly two hours before it was full.
LAG_SAMPLES = 20_000
GapHandler = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class CandleBatch:
    """Closed candles submitted together, the path they came by, when they were received, and
    what the exchange was asked for (``covered``: series -> newest open time asked)."""

    candles: tuple[Candle, ...]
    received_ns: int | None
    covered: tuple[tuple[Series, int], ...]
    provenance: CandleSource


class CandleBuilder:
    """Store and publish closed candles in order (see module doc); ``start()`` runs a thread."""

    def __init__(
        self,
        db: Database,
        bus: MessageBus,
        *,
        source: str,
        on_gap: GapHandler | None = None,
        gap_retry_s: float = 3.0,
        coalesce_s: float = 0.003,
    ) -> None:
        self.db = db
        self.store = CandleStore(db)
        self.bus = bus
        self.source = source
        self.on_gap = on_gap
        self.gap_retry_s = gap_retry_s
        self.coalesce_s = coalesce_s
        self._next: dict[Series, int | None] = {}
        self._newest: dict[Series, int] = {}
        self._pending: dict[Series, dict[int, Candle]] = {}
        # the path each pending candle came by (the first arrival's, like the store keeps)
        self._paths: dict[tuple[str, str, int], CandleSource] = {}
        self._asked: dict[Series, tuple[int, float]] = {}
        self._queue: queue.Queue[CandleBatch | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        #: milliseconds from receipt of a WebSocket candle to its event being published
        self.lags_ms: deque[float] = deque(maxlen=LAG_SAMPLES)
        self.backlog = PublishBacklog(self.store, bus)

    # -- set-up ------------------------------------------------------------------------------
    def prime(self, series: Sequence[Series]) -> None:
        """Resume each series after its newest stored candle (a new series starts on arrival)."""
        for key in series:
            last = self.store.last_open_time(*key)
            self._next[key] = None if last is None else last + duration_ms(key[1])
            if last is not None:
                self._newest[key] = last

    def next_open_time(self, symbol: str, timeframe: str) -> int | None:
        """Return the open time of the next candle the series needs (None: not started)."""
        with self._lock:
            return self._next.get((symbol, timeframe))

    # -- input -------------------------------------------------------------------------------
    def submit(
        self,
        candles: Sequence[Candle],
        *,
        provenance: CandleSource,
        received_ns: int | None = None,
        covered: dict[Series, int] | None = None,
    ) -> None:
        """Queue closed candles that came by ``provenance``; ``covered`` says up to which open
        time the exchange was asked."""
        self._queue.put(
            CandleBatch(
                tuple(candles),
                received_ns,
                tuple((covered or {}).items()),
                CandleSource(provenance),
            )
        )

    def queued(self) -> int:
        """Return how many submitted batches wait for the writer thread."""
        return self._queue.qsize()

    def start(self) -> None:
        """Run the writer thread."""
        self._thread = threading.Thread(target=self._run, name="candle-builder", daemon=True)
        self._thread.start()

    def stop(self, drain_s: float = 5.0) -> None:
        """Write what is queued, publish what waits (for up to ``drain_s``), stop the thread."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=30)
        deadline = time.monotonic() + drain_s
        while self.backlog.pending and time.monotonic() < deadline:
            if not self.backlog.flush():
                time.sleep(0.01)
        if self.backlog.pending:  # stored: a session started later reads them from the store
            log.warning("%d candle events were not published (stored)", self.backlog.waiting())

    def _run(self) -> None:
        while True:
            try:  # while events wait for room in the live queue, offer them again now and then
                item = self._queue.get(timeout=0.02 if self.backlog.pending else None)
            except queue.Empty:
                try:
                    self.backlog.flush()
                except Exception:
                    self.stats["write_errors"] += 1
                    log.exception("the candle builder failed to publish waiting events")
                continue
            batches = [item]
            if self.coalesce_s > 0 and item is not None:
                # candles of many series close at the same instant: a moment's wait lets them
                # share one transaction instead of queueing behind each other's commits
                time.sleep(self.coalesce_s)
            while True:  # take everything queued: one transaction for all of it
                try:
                    batches.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            real = [b for b in batches if b is not None]
            if real:
                try:
                    self.process(real)
                except Exception:
                    self.stats["write_errors"] += 1
                    log.exception("the candle builder failed on a batch; it goes on")
            if any(b is None for b in batches):
                return

    # -- the work ----------------------------------------------------------------------------
    def process(self, batches: Sequence[CandleBatch]) -> list[Candle]:
        """Order, store and publish the candles of ``batches``; return those stored.

        An event the bounded live queue has no room for waits in ``backlog`` (read back from
        the store later, in order): storing never waits for the subscribers.
        """
        ready: list[Candle] = []
        late: list[Candle] = []
        late_paths: list[CandleSource] = []
        received: dict[tuple[str, str, int], int] = {}
        touched: set[Series] = set()
        covered: dict[Series, int] = {}
        with self._lock:
            for b in batches:
                for c in b.candles:
                    key = (c.symbol, c.timeframe)
                    touched.add(key)
                    if b.received_ns is not None:
                        received[(c.symbol, c.timeframe, c.open_time)] = b.received_ns
                    nxt = self._next.get(key)
                    if nxt is None:
                        nxt = self._next[key] = c.open_time
                    if c.open_time < nxt:
                        late.append(c)
                        late_paths.append(b.provenance)
                    else:
                        pending = self._pending.setdefault(key, {})
                        if c.open_time in pending:
                            self.stats["duplicates"] += 1
                            if pending[c.open_time] != c:
                                self.stats["conflicts"] += 1
                        else:
                            pending[c.open_time] = c
                            self._paths[(*key, c.open_time)] = b.provenance
                for key, until in b.covered:
                    covered[key] = max(until, covered.get(key, until))
                    touched.add(key)
                    if self._next.get(key) is None:
                        self._next[key] = until + duration_ms(key[1])
            for key in touched:
                ready.extend(self._release(key, covered.get(key)))
            paths = [self._paths.pop((c.symbol, c.timeframe, c.open_time)) for c in ready]
        result = write_closed(
            self.store,
            ready + late,
            provenance=paths + late_paths,
            source=self.source,
            newest=self._newest if not late else None,
        )
        self.rejected.update(result.rejected)
        self.stats["duplicates"] += len(result.duplicates)
        self.stats["conflicts"] += len(result.conflicts)
        stored_keys = {(c.symbol, c.timeframe, c.open_time) for c in result.stored}
        stored = [c for c in ready if (c.symbol, c.timeframe, c.open_time) in stored_keys]
        for c in stored:
            key = (c.symbol, c.timeframe)
            self._newest[key] = max(c.open_time, self._newest.get(key, c.open_time))
        # published now if the live queue has room, else later from the store (never dropped)
        for c in self.backlog.publish(stored):
            got = received.get((c.symbol, c.timeframe, c.open_time))
            if got is not None:
                self.lags_ms.append((time.perf_counter_ns() - got) / 1e6)
        self.stats["stored"] += len(stored)
        self.stats["deferred"] = self.backlog.deferred
        self._ask_for_holes()
        return stored

    def _release(self, key: Series, covered_until: int | None) -> list[Candle]:
        """Take the pending run from the series' next open time, skipping confirmed holes."""
        pending = self._pending.setdefault(key, {})
        nxt = self._next.get(key)
        if nxt is None:
            return []
        d = duration_ms(key[1])
        out = []
        while True:
            while nxt in pending:
                out.append(pending.pop(nxt))
                nxt += d
            if covered_until is None or nxt > covered_until:
                break
            # the exchange was asked up to covered_until and had nothing at nxt: never coming
            later = [t for t in pending if t > nxt]
            target = min([*later, covered_until + d])
            self.stats["holes_accepted"] += (target - nxt) // d
            log.warning("%s %s: the exchange has no candle from %d: gap accepted", *key, nxt)
            nxt = target
        self._next[key] = nxt
        return out

    def _ask_for_holes(self) -> None:
        if self.on_gap is None:
            return
        now = time.monotonic()
        asks: list[tuple[Series, int, int]] = []
        with self._lock:
            for key, pending in self._pending.items():
                nxt = self._next.get(key)
                if not pending or nxt is None:
                    continue
                last_ask = self._asked.get(key)
                if (
                    last_ask is not None
                    and last_ask[0] == nxt
                    and now - last_ask[1] < self.gap_retry_s
                ):
                    continue
                self._asked[key] = (nxt, now)
                asks.append((key, nxt, min(pending) - duration_ms(key[1])))
        for (symbol, tf), start, end in asks:
            self.stats["gaps_requested"] += 1
            self.on_gap(symbol, tf, start, end)

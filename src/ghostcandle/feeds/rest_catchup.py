"""The live feed's REST side: history, gap fills, and polling while the stream is down.

Every candle fetched here is closed by the exchange's own clock and goes, but for the history
(stored directly: nothing downstream waits for it), through the feed's ``CandleBuilder``: stored
with provenance ``rest_backfill`` and published as candle-close events in order, once each,
whatever else (the stream, another fill) brings the same candle.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.errors import GhostcandleError
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.feeds.backfill import closed_pages
from ghostcandle.feeds.candle_builder import CandleBuilder
from ghostcandle.feeds.candle_writer import write_closed
from ghostcandle.feeds.config import FeedConfig
from ghostcandle.feeds.rest import BinanceRest

log = logging.getLogger(__name__)


class RestCatchUp:
    """Fetch closed candles over ``rest`` for the feed of ``config`` into ``builder``.

    ``counters`` and ``rejected`` are the feed's own (shared, so its health shows them);
    ``on_error`` gets each failure's one-line reason.
    """

    def __init__(
        self,
        rest: BinanceRest,
        builder: CandleBuilder,
        config: FeedConfig,
        *,
        counters: Counter[str],
        rejected: Counter[str],
        on_error: Callable[[str], None],
    ) -> None:
        self.rest = rest
        self.builder = builder
        self.config = config
        self.counters = counters
        self.rejected = rejected
        self.on_error = on_error
        self._filling: set[tuple[str, str]] = set()

    async def load_history(self) -> None:
        """Load ``history_candles`` closed candles for every series with nothing stored."""
        n = self.config.history_candles
        if n <= 0:
            return
        store = self.builder.store
        server_now = await self.rest.server_time()
        for symbol, interval in self.config.series():
            if store.last_open_time(symbol, interval) is not None:
                continue
            d = duration_ms(interval)
            start = (server_now // d) * d - n * d
            async for page, bad in closed_pages(self.rest, symbol, interval, start):
                self.rejected["rest_rows"] += bad
                result = write_closed(
                    store,
                    page,
                    provenance=CandleSource.REST_BACKFILL,
                    source=self.config.exchange,
                )
                self.counters["history_loaded"] += len(result.stored)

    async def fill_all(self) -> None:
        """After (re)connecting: fetch what closed since each series' last stored candle."""
        for symbol, interval in self.config.series():
            nxt = self.builder.next_open_time(symbol, interval)
            if nxt is not None:
                await self.fill(symbol, interval, nxt, None)

    async def poll(self) -> bool:
        """Fetch what closed since each series' last candle (the stream is down).

        Ask the exchange's clock once, then only the series whose next candle has closed by it.
        Return whether REST answered.
        """
        try:
            server_now = await self.rest.server_time()
        except GhostcandleError as exc:
            self.counters["polls_failed"] += 1
            self.on_error(str(exc))
            return False
        self.counters["polls"] += 1
        for symbol, interval in self.config.series():
            nxt = self.builder.next_open_time(symbol, interval)
            if nxt is None:  # nothing stored yet: the history's last candle is not known
                nxt = (server_now // duration_ms(interval) - 1) * duration_ms(interval)
            if nxt + duration_ms(interval) > server_now:
                continue  # not closed yet: asking would cost a request for nothing
            before = self.counters["candles_polled"]
            ok = await self.fill(symbol, interval, nxt, None, server_now=server_now, polled=True)
            if not ok:
                return False
            if self.counters["candles_polled"] == before:
                self.counters["polls_empty"] += 1
        return True

    async def fill(
        self,
        symbol: str,
        interval: str,
        start: int,
        end: int | None,
        *,
        server_now: int | None = None,
        polled: bool = False,
    ) -> bool:
        """Fetch the closed candles of ``[start, end]`` into the builder; return False on an
        error (logged, told to ``on_error``)."""
        key = (symbol, interval)
        if key in self._filling:
            return True  # another fill of this series runs: it fetches the same
        self._filling.add(key)
        try:
            got = 0
            covered = start - duration_ms(interval)
            pages = closed_pages(self.rest, symbol, interval, start, end, server_now=server_now)
            async for page, bad in pages:
                self.rejected["rest_rows"] += bad
                if page:
                    got += len(page)
                    covered = max(covered, *(c.open_time for c in page))
                self.builder.submit(
                    page, provenance=CandleSource.REST_BACKFILL, covered={key: covered}
                )
            if end is not None:
                self.builder.submit([], provenance=CandleSource.REST_BACKFILL, covered={key: end})
            if got:
                self.counters["candles_polled" if polled else "gaps_backfilled"] += (
                    got if polled else 1
                )
                self.counters["candles_backfilled"] += got
                log.log(
                    logging.DEBUG if polled else logging.INFO,
                    "feed %s: %s %d %s %s candle(s) over REST",
                    self.config.name,
                    "polled" if polled else "backfilled",
                    got,
                    symbol,
                    interval,
                )
            return True
        except GhostcandleError as exc:
            self.on_error(str(exc))
            log.warning(
                "feed %s: REST fetch of %s %s failed: %s", self.config.name, symbol, interval, exc
            )
            return False
        finally:
            self._filling.discard(key)

"""REST backfill: page through closed candles (1,000 a request), resume from the last stored one.

Only closed candles are kept: a candle is closed when its close time is at or before the
exchange's own clock (``/api/v3/time``), so a simulator running faster than real time works too.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pandas as pd

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.timeframes import duration_ms, format_time
from ghostcandle.domain.validation import validate_candles
from ghostcandle.feeds.rest import KLINES_LIMIT, BinanceRest
from ghostcandle.store.candles import CandleStore, WriteResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackfillReport:
    """What one backfill did."""

    symbol: str
    timeframe: str
    start: int
    end: int
    requests: int
    fetched: int
    inserted: int
    duplicates: int
    rejected: int
    conflicts: int
    rate_limited: int

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "from": format_time(self.start),
            "to": format_time(self.end),
            "requests": self.requests,
            "fetched": self.fetched,
            "inserted": self.inserted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "conflicts": self.conflicts,
            "rate_limited": self.rate_limited,
        }


def candles_frame(candles: list[Candle]) -> pd.DataFrame:
    """Return candles as a canonical batch."""
    return pd.DataFrame(
        {
            "open_time": [c.open_time for c in candles],
            "open": [c.open for c in candles],
            "high": [c.high for c in candles],
            "low": [c.low for c in candles],
            "close": [c.close for c in candles],
            "volume": [c.volume for c in candles],
        }
    ).astype({"open_time": "int64"})


def resume_start(
    store: CandleStore, symbol: str, timeframe: str, since: int, until: int | None
) -> int:
    """Return where a backfill of ``[since, until]`` starts: after the newest stored candle."""
    d = duration_ms(timeframe)
    start = since - since % d
    last = store.last_open_time(symbol, timeframe)
    if last is not None and last >= start and (until is None or last < until):
        start = last + d
        log.info("%s %s: resuming after the stored %s", symbol, timeframe, format_time(last))
    return start


class PageTally:
    """Validate and store a backfill's pages one by one, counting what happened."""

    def __init__(self, symbol: str, timeframe: str, start: int, source: str) -> None:
        self.symbol, self.timeframe, self.start, self.source = symbol, timeframe, start, source
        self.newest = start - duration_ms(timeframe)
        self.fetched = self.inserted = self.duplicates = self.rejected = self.conflicts = 0

    def store(self, store: CandleStore, page: list[Candle]) -> WriteResult:
        """Validate ``page`` like ingest and write it in its own transaction."""
        self.fetched += len(page)
        checked = validate_candles(candles_frame(page), self.timeframe)
        self.rejected += checked.rejected_total
        result = store.write(
            self.symbol,
            self.timeframe,
            checked.valid,
            provenance=CandleSource.REST_BACKFILL,
            source=self.source,
        )
        self.inserted += result.inserted
        self.duplicates += result.duplicates + checked.duplicates
        self.conflicts += result.conflicts
        self.newest = max(self.newest, *(c.open_time for c in page))
        return result

    def report(self, requests: int, rate_limited: int) -> BackfillReport:
        """Return the report of the backfill so far."""
        return BackfillReport(
            self.symbol, self.timeframe, self.start, self.newest, requests, self.fetched,
            self.inserted, self.duplicates, self.rejected, self.conflicts, rate_limited,
        )  # fmt: skip


async def closed_pages(
    rest: BinanceRest,
    symbol: str,
    timeframe: str,
    start: int,
    until: int | None = None,
    *,
    server_now: int | None = None,
) -> AsyncIterator[tuple[list[Candle], int]]:
    """Yield pages of closed candles opening in ``[start, until]``, with their rejected rows.

    ``server_now``: the exchange's clock if just asked (else it is asked here).
    """
    d = duration_ms(timeframe)
    if server_now is None:
        server_now = await rest.server_time()
    last_closed_open = (server_now // d) * d - d  # newest candle whose close <= server_now
    end = last_closed_open if until is None else min(until, last_closed_open)
    cursor = start - start % d if start % d else start
    while cursor <= end:
        page, bad = await rest.klines(symbol, timeframe, cursor, end + d - 1, KLINES_LIMIT)
        closed = [c for c in page if c.open_time <= end and c.open_time >= cursor]
        yield closed, bad
        if not page or len(page) + bad < KLINES_LIMIT:
            return
        newest = max(c.open_time for c in page)
        if newest < cursor:
            return
        cursor = newest + d


async def backfill(
    store: CandleStore,
    rest: BinanceRest,
    symbol: str,
    timeframe: str,
    since: int,
    until: int | None = None,
    *,
    source: str = "binance",
    on_page: Callable[[int], None] | None = None,
) -> BackfillReport:
    """Store the closed candles of ``[since, until]`` not stored yet, resuming after the newest.

    Each page is validated like ingest and written in its own transaction, so an interrupted
    backfill keeps what it stored and the next run resumes after it. ``on_page(newest)`` gets
    the open time of the newest candle stored so far after each page.
    """
    start = resume_start(store, symbol, timeframe, since, until)
    requests0, limited0 = rest.requests, rest.rate_limited
    tally = PageTally(symbol, timeframe, start, source)
    async for page, bad in closed_pages(rest, symbol, timeframe, start, until):
        tally.rejected += bad
        if not page:
            continue
        result = tally.store(store, page)
        log.info(
            "%s %s: stored %d candles up to %s",
            symbol,
            timeframe,
            result.inserted,
            format_time(tally.newest),
        )
        if on_page is not None:
            on_page(tally.newest)
    return tally.report(rest.requests - requests0, rest.rate_limited - limited0)

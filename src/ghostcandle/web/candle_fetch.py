"""Fetch the candles a test case lacks from the workspace's exchange (its REST klines)."""

from __future__ import annotations

import asyncio

from ghostcandle.engine.runtime import ExchangeConfig
from ghostcandle.feeds.backfill import PageTally, closed_pages
from ghostcandle.feeds.rest import BinanceRest
from ghostcandle.store.annotation_frames import CandleFetcher
from ghostcandle.store.candles import CandleStore


def exchange_fetcher(store: CandleStore, exchange: ExchangeConfig) -> CandleFetcher:
    """Return a fetcher storing the closed candles of a range from ``exchange`` (validated)."""

    async def fetch_async(symbol: str, timeframe: str, first: int, last: int) -> None:
        # a short timeout and one retry: the trader is waiting for the draft's answer
        rest = BinanceRest(exchange.rest_url, timeout_s=5.0, max_retries=1)
        tally = PageTally(symbol, timeframe, first, f"{exchange.name}:test-case")
        try:
            async for page, _bad in closed_pages(rest, symbol, timeframe, first, last):
                if page:
                    tally.store(store, page)
        finally:
            await rest.aclose()

    def fetch(symbol: str, timeframe: str, first: int, last: int) -> None:
        asyncio.run(fetch_async(symbol, timeframe, first, last))

    return fetch

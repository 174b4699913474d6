"""REST backfill from other exchanges through ccxt (public OHLCV, no API key).

ccxt is imported only when this runs, so the product starts without it or a network. Candles
are paged from ``since``, only closed ones (by the exchange's clock where it tells it) are
kept, the series resumes after its newest stored candle, and everything is stored through the
same validation as ingest. Rate-limit answers are waited out with backoff; a ban stops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ghostcandle.domain.candles import Candle
from ghostcandle.domain.errors import OperationalError, TemporaryError, UserInputError
from ghostcandle.domain.timeframes import duration_ms, format_time
from ghostcandle.feeds.backfill import BackfillReport, PageTally, resume_start
from ghostcandle.store.candles import CandleStore

log = logging.getLogger(__name__)

PAGE = 1000


def _ccxt() -> Any:
    try:
        import ccxt
    except ImportError:
        raise UserInputError(
            "ccxt is not installed: `pip install ccxt==4.5.90` to backfill from other exchanges"
        ) from None
    return ccxt


def open_exchange(exchange_id: str, api_url: str | None = None) -> Any:
    """Return a ccxt exchange for public data; ``api_url`` points a Binance-like one elsewhere."""
    ccxt = _ccxt()
    cls = getattr(ccxt, exchange_id, None)
    if exchange_id not in ccxt.exchanges or cls is None:
        raise UserInputError(
            f"unknown exchange {exchange_id!r}: use a ccxt exchange id such as kraken or binance"
        )
    ex = cls(
        {
            "enableRateLimit": True,
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        }
    )
    if not ex.has.get("fetchOHLCV"):
        raise UserInputError(f"{exchange_id} does not serve candles (OHLCV) through ccxt")
    if api_url:
        for key in list(ex.urls["api"]):
            ex.urls["api"][key] = api_url.rstrip("/") + "/api/v3"
    return ex


class _Caller:
    """Call ccxt with rate-limit backoff, mapping its errors to ours."""

    def __init__(self, ex: Any, max_retries: int, sleep: Callable[[float], None]) -> None:
        self.ex = ex
        self.max_retries = max_retries
        self.sleep = sleep
        self.requests = 0
        self.rate_limited = 0

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        ccxt = _ccxt()
        wait = 1.0
        for _ in range(self.max_retries + 1):
            self.requests += 1
            try:
                return getattr(self.ex, method)(*args, **kwargs)
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
                self.rate_limited += 1
                log.warning("%s rate-limited us (%s): waiting %.1f s", self.ex.id, exc, wait)
                self.sleep(wait)
                wait = min(wait * 2, 60.0)
            except ccxt.AccountSuspended as exc:
                raise OperationalError(f"{self.ex.id} refuses us: {exc}; stop and wait") from None
            except ccxt.NetworkError as exc:
                first = (str(exc).splitlines() or [""])[0][:200]
                raise TemporaryError(f"cannot reach {self.ex.id}: {first}") from None
            except ccxt.BadSymbol:
                raise UserInputError(f"{self.ex.id} does not list that symbol") from None
            except ccxt.BaseError as exc:
                raise OperationalError(f"{self.ex.id} answered an error: {exc}") from None
        raise TemporaryError(f"{self.ex.id} kept rate-limiting after {self.max_retries} retries")


def ccxt_backfill(
    store: CandleStore,
    exchange_id: str,
    symbol: str,
    timeframe: str,
    since: int,
    until: int | None = None,
    *,
    api_url: str | None = None,
    max_retries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    on_page: Callable[[int], None] | None = None,
) -> BackfillReport:
    """Store ``exchange_id``'s closed candles of ``[since, until]`` not stored yet.

    ``on_page(newest)`` gets the open time of the newest candle stored so far after each page.
    """
    ex = open_exchange(exchange_id, api_url)
    call = _Caller(ex, max_retries, sleep)
    if timeframe not in (ex.timeframes or {}):
        raise UserInputError(f"{exchange_id} has no {timeframe} candles through ccxt")
    d = duration_ms(timeframe)
    start = resume_start(store, symbol, timeframe, since, until)
    now = int(call("fetch_time")) if ex.has.get("fetchTime") else int(ex.milliseconds())
    end = (now // d) * d - d if until is None else min(until, (now // d) * d - d)
    tally = PageTally(symbol, timeframe, start, f"ccxt:{exchange_id}")
    cursor = start
    while cursor <= end:
        rows = call("fetch_ohlcv", symbol, timeframe, since=cursor, limit=PAGE)
        page: list[Candle] = []
        for r in rows:
            if len(r) < 6 or any(x is None for x in r[:6]):
                tally.rejected += 1
                continue
            if cursor <= int(r[0]) <= end:  # the still-open candle is left out
                page.append(Candle(symbol, timeframe, int(r[0]), *(float(x) for x in r[1:6])))
        if not page:
            break
        tally.store(store, page)
        log.info(
            "%s %s %s: stored up to %s", exchange_id, symbol, timeframe, format_time(tally.newest)
        )
        if on_page is not None:
            on_page(tally.newest)
        cursor = tally.newest + d
    return tally.report(call.requests, call.rate_limited)

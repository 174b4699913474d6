"""``ghostcandle backfill``: fetch closed candles over REST, resuming after the newest stored."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json
from ghostcandle.cli.progress import Bar, progress_bar, wants_progress
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import check_timeframe, duration_ms, parse_time
from ghostcandle.feeds.backfill import BackfillReport, backfill
from ghostcandle.feeds.ccxt_backfill import ccxt_backfill
from ghostcandle.feeds.config import BINANCE_REST_URL
from ghostcandle.feeds.rest import BinanceRest
from ghostcandle.store.candles import CandleStore


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "backfill",
        help="download closed candles from an exchange's public REST API (no key needed)",
        description="Page through the exchange's klines (1,000 a request), honour rate limits "
        "(429: wait Retry-After; 418: stop), resume after the newest stored candle, and store "
        "through the same validation as ingest.",
    )
    p.add_argument(
        "--exchange", default="binance", help="binance, or any ccxt exchange id (kraken, ...)"
    )
    p.add_argument("--symbol", required=True, help="e.g. ETH/USDT")
    p.add_argument("--timeframe", required=True, help="e.g. 1m")
    p.add_argument("--since", required=True, help="ISO date/time or epoch ms")
    p.add_argument("--until", help="ISO date/time or epoch ms (default: the newest closed)")
    p.add_argument("--rest-url", default=BINANCE_REST_URL, help="REST base URL (the simulator)")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Backfill and print what was stored."""
    symbol = normalise_symbol(args.symbol)
    timeframe = check_timeframe(args.timeframe)
    since = parse_time(args.since)
    until = parse_time(args.until) if args.until else None
    if until is not None and until < since:
        raise UserInputError("--until is before --since: swap them")
    with (
        open_db(args) as db,
        progress_bar(f"backfill {symbol} {timeframe}", enabled=wants_progress(args.json)) as bar,
    ):
        store = CandleStore(db)

        if args.exchange != "binance":
            now = LiveClock().now_ms()
            on_page = _page_progress(bar, timeframe, since, until, now) if bar.drawn else None
            report = ccxt_backfill(
                store, args.exchange, symbol, timeframe, since, until, on_page=on_page
            )
            return _print(report, args.json)

        async def go() -> BackfillReport:
            rest = BinanceRest(args.rest_url)
            try:
                on_page = None
                if bar.drawn:  # the exchange's clock says where the range ends (a simulator's
                    # may run ahead of ours)
                    now = await rest.server_time()
                    on_page = _page_progress(bar, timeframe, since, until, now)
                return await backfill(store, rest, symbol, timeframe, since, until, on_page=on_page)
            finally:
                await rest.aclose()

        report = asyncio.run(go())
    return _print(report, args.json)


def _page_progress(
    bar: Bar, timeframe: str, since: int, until: int | None, now: int
) -> Callable[[int], None]:
    """Return a page callback that shows candles covered out of the range's closed candles."""
    d = duration_ms(timeframe)
    first = since - since % d
    last_closed = (now // d) * d - d
    last = last_closed if until is None else min(until, last_closed)
    total = max(1, (last - first) // d + 1)

    def on_page(newest: int) -> None:
        bar.update(min(total, (newest - first) // d + 1), total)

    return on_page


def _print(report: BackfillReport, as_json: bool) -> int:
    out = report.to_json()
    if as_json:
        emit_json(out)
        return 0
    print(f"{report.symbol} {report.timeframe} from {out['from']} to {out['to']}")
    for k in ("requests", "fetched", "inserted", "duplicates", "rejected", "conflicts"):
        print(f"{k + ':':12}{out[k]}")
    if report.rate_limited:
        print(f"rate limited {report.rate_limited} time(s): waited as the exchange asked")
    return 0

"""``ghostcandle live``: run the live feed into the database (Binance, or the simulator)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from typing import Any

from ghostcandle.cli.commands.exchange_sim import split_list
from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.heap import compact_heap
from ghostcandle.domain.errors import GhostcandleError, OperationalError, UserInputError
from ghostcandle.domain.events import CandleCompletionEvent
from ghostcandle.domain.feed_health import describe_state
from ghostcandle.domain.symbols import DEFAULT_SYMBOLS
from ghostcandle.domain.timeframes import DEFAULT_TIMEFRAMES, format_time
from ghostcandle.feeds.config import (
    BINANCE_REST_URL,
    BINANCE_WS_URL,
    DEPTH_MODES,
    LIVE_QUEUE_MAX,
    FeedConfig,
)
from ghostcandle.feeds.live_feed import LiveFeed
from ghostcandle.feeds.local_book import book_summary
from ghostcandle.feeds.rest import BinanceRest
from ghostcandle.messaging.bus import MessageBus

log = logging.getLogger("ghostcandle.live")

#: How long ``live`` waits for the exchange to answer again (stream or REST) before it exits.
GIVE_UP_AFTER_S = 300.0


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "live",
        help="stream live candles (and depth) from Binance or the simulator into the database",
        description="Connect to the exchange's WebSocket, store every closed candle (only "
        "closed ones), backfill gaps over REST after reconnects, and log candles and health.",
    )
    p.add_argument("--exchange", default="binance", help="only 'binance' streams live")
    p.add_argument("--symbols", default=",".join(DEFAULT_SYMBOLS), help="comma-separated")
    p.add_argument("--intervals", default=",".join(DEFAULT_TIMEFRAMES), help="comma-separated")
    p.add_argument("--rest-url", default=BINANCE_REST_URL)
    p.add_argument("--ws-url", default=BINANCE_WS_URL)
    p.add_argument("--no-depth", action="store_true", help="do not record order-book snapshots")
    p.add_argument(
        "--depth",
        choices=DEPTH_MODES,
        default="depth20",
        help="how the book is followed: the top-20 partial book stream (default), or a local "
        "book from the depth@100ms diffs and REST snapshots (sequence-checked, resynced on a gap)",
    )
    p.add_argument("--history", type=int, default=1000, help="candles to load per new series")
    p.add_argument("--duration", type=float, default=0.0, help="stop after N seconds (0: never)")
    p.add_argument("--quiet", action="store_true", help="do not log every closed candle")
    p.add_argument(
        "--give-up-after",
        type=float,
        default=GIVE_UP_AFTER_S,
        metavar="SECONDS",
        help="exit (status 2) when neither the stream nor REST answered for this long "
        f"(default {GIVE_UP_AFTER_S:g}; 0: retry forever). While only the stream is down, "
        "closed candles are polled over REST",
    )
    add_common(p)
    p.set_defaults(handler=run)


def check_reachable(rest_url: str) -> None:
    """Raise a one-line error if the exchange's REST API does not answer."""

    async def ping() -> None:
        rest = BinanceRest(rest_url, timeout_s=5.0, max_retries=1)
        try:
            await rest.ping()
        finally:
            await rest.aclose()

    try:
        asyncio.run(ping())
    except GhostcandleError as exc:
        raise OperationalError(
            f"cannot reach the exchange at {rest_url} ({exc}); check the network, or run "
            "`make demo` to use the local exchange simulator instead"
        ) from None


def run(args: argparse.Namespace) -> int:
    """Run the feed until interrupted (or ``--duration`` seconds)."""
    if args.exchange != "binance":
        raise UserInputError(
            f"--exchange {args.exchange}: live streaming speaks Binance's protocol only; "
            "use `ghostcandle backfill --exchange ...` for other exchanges"
        )
    check_reachable(args.rest_url)
    compact_heap()  # before the feed's threads: a long run's C heap stays compact
    with open_db(args) as db:
        config = FeedConfig(
            symbols=split_list(args.symbols),
            intervals=split_list(args.intervals),
            rest_url=args.rest_url,
            ws_url=args.ws_url,
            depth=not args.no_depth,
            depth_mode=args.depth,
            history_candles=args.history,
            status_file=str(db.path) + ".feed-status.json",
            give_up_after_s=args.give_up_after if args.give_up_after > 0 else None,
        )
        bus = MessageBus(threaded=True, name="live-bus", max_queue=LIVE_QUEUE_MAX)
        if not args.quiet:
            bus.subscribe("candles.*", _log_candle, name="live-log")
        feed = LiveFeed(db, bus, config)
        log.info(
            "feed: %s symbols x %s intervals from %s",
            len(config.symbols),
            len(config.intervals),
            config.ws_url,
        )
        feed.start()
        # a plain `kill` stops the feed cleanly too (its status then says disconnected)
        previous = signal.signal(signal.SIGTERM, _interrupt)
        began = time.monotonic()
        next_health = began + 30
        try:
            while args.duration <= 0 or time.monotonic() - began < args.duration:
                time.sleep(0.2)
                if not feed.alive:
                    raise OperationalError(
                        f"the feed stopped: {feed.last_error or 'see the log above'}"
                    )
                if time.monotonic() >= next_health:
                    next_health += 30
                    h = feed.status()
                    log.info(
                        "health: %s, last message %s ms ago, reconnects=%d, "
                        "gaps backfilled=%d, rejected=%d, stored=%d, queued=%d",
                        describe_state(h),
                        h.last_message_age_ms,
                        h.reconnects,
                        h.gaps_backfilled,
                        h.messages_rejected,
                        h.candles_stored,
                        h.queue_depth,
                    )
        finally:
            signal.signal(signal.SIGTERM, previous)
            feed.stop()
            bus.drain(5)
            bus.close()
        h = feed.status()
        print(
            f"stored {h.candles_stored} closed candles; reconnects {h.reconnects}, gaps "
            f"backfilled {h.gaps_backfilled}, messages rejected {h.messages_rejected}"
        )
        if feed.books is not None:
            print(book_summary(h.counters))
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _log_candle(event: CandleCompletionEvent) -> None:
    c = event.candle
    log.info(
        "%s %s %s o=%g h=%g l=%g c=%g v=%g",
        c.symbol,
        c.timeframe,
        format_time(c.open_time),
        c.open,
        c.high,
        c.low,
        c.close,
        c.volume,
    )

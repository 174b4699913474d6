"""``ghostcandle exchange-sim``: a local Binance-compatible exchange on 127.0.0.1 (with faults)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from ghostcandle.cli.output import emit_json
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import DEFAULT_SYMBOLS, normalise_symbol
from ghostcandle.domain.timeframes import DEFAULT_TIMEFRAMES, HOUR_MS, check_timeframe, duration_ms
from ghostcandle.domain.validation import validate_candles
from ghostcandle.feeds.simulator.faults import Faults
from ghostcandle.feeds.simulator.market import Market, replay_series, synthetic_market
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig
from ghostcandle.ingest.naming import infer_from_name
from ghostcandle.ingest.readers import read_candle_file

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "exchange-sim",
        help="serve a local Binance-compatible exchange (SYNTHETIC or replayed market)",
        description="Serve /api/v3/{ping,time,klines,depth} and the kline and depth WebSocket "
        "streams (depth20 partial books and depth@100ms diffs of one book) on 127.0.0.1, from"
        " a seeded SYNTHETIC market or a replay of a candle file at "
        "N x speed. Point `ghostcandle live --rest-url/--ws-url` at the printed URLs.",
    )
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--symbols", default=",".join(DEFAULT_SYMBOLS), help="comma-separated")
    p.add_argument("--intervals", default=",".join(DEFAULT_TIMEFRAMES), help="comma-separated")
    p.add_argument(
        "--source", default="synthetic", help="'synthetic' or a candle file to replay (csv/parquet)"
    )
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--seed", type=int, default=42, help="seed of the synthetic market")
    p.add_argument(
        "--history-hours",
        type=float,
        default=24.0,
        help="market history before now (synthetic) or before the replay starts",
    )
    p.add_argument("--duration", type=float, default=0.0, help="stop after N seconds (0: never)")
    p.add_argument("--json", action="store_true", help="print the URLs as one JSON object")
    g = p.add_argument_group("faults (all off by default)")
    g.add_argument("--drop-before-close-ms", type=int, default=0)
    g.add_argument("--drop-every", type=int, default=1)
    g.add_argument("--drop-interval", default=None)
    g.add_argument("--delay-ms", type=int, default=0)
    g.add_argument("--duplicate-every", type=int, default=0)
    g.add_argument("--reorder-every", type=int, default=0)
    g.add_argument("--ignore-pings-after", type=float, default=0.0, metavar="SECONDS")
    g.add_argument("--shutdown-after", type=float, default=0.0, metavar="SECONDS")
    g.add_argument("--max-connection", type=float, default=0.0, metavar="SECONDS")
    g.add_argument("--malformed-every", type=int, default=0)
    g.add_argument("--rest-429-every", type=int, default=0)
    g.add_argument("--retry-after", type=float, default=1.0, metavar="SECONDS")
    g.add_argument("--rest-418", action="store_true")
    g.add_argument(
        "--depth-gap-every", type=int, default=0, help="withhold every n-th depth diff (a gap)"
    )
    g.add_argument(
        "--crossed-book-every",
        type=int,
        default=0,
        help="every n-th depth diff, cross the book for 15 diffs",
    )
    g.add_argument(
        "--drop-every-s",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="cut every connection this often (a link that drops every few seconds)",
    )
    g.add_argument(
        "--ws-down", action="store_true", help="refuse WebSocket handshakes; REST still answers"
    )
    p.set_defaults(handler=run)


def split_list(text: str) -> tuple[str, ...]:
    """Split a comma-separated option, dropping blanks."""
    return tuple(x.strip() for x in text.split(",") if x.strip())


def faults_from_args(args: argparse.Namespace) -> Faults:
    """Return the faults the options ask for."""
    return Faults(
        drop_before_close_ms=args.drop_before_close_ms,
        drop_every=args.drop_every,
        drop_interval=args.drop_interval,
        delay_ms=args.delay_ms,
        duplicate_every=args.duplicate_every,
        reorder_every=args.reorder_every,
        ignore_pings_after_s=args.ignore_pings_after,
        shutdown_after_s=args.shutdown_after,
        max_connection_s=args.max_connection,
        malformed_every=args.malformed_every,
        rest_429_every=args.rest_429_every,
        retry_after_s=args.retry_after,
        rest_418=args.rest_418,
        depth_gap_every=args.depth_gap_every,
        crossed_book_every=args.crossed_book_every,
        drop_every_s=args.drop_every_s,
        ws_down=args.ws_down,
    )


def build_market(
    source: str, symbols: tuple[str, ...], intervals: tuple[str, ...], seed: int, history_ms: int
) -> tuple[Market, int | None]:
    """Return the market and the simulated start time (None: now)."""
    if source == "synthetic":
        start = LiveClock().now_ms() - history_ms
        return synthetic_market(symbols, intervals, start_ms=start, seed=seed), None
    path = Path(source)
    if not path.is_file():
        raise UserInputError(f"--source {source}: no such file: give 'synthetic' or a candle file")
    name_symbol, name_tf = infer_from_name(path)
    if name_tf is None:
        raise UserInputError(f"{path}: cannot tell the timeframe from the file name (e.g. _1m_)")
    symbol = normalise_symbol(name_symbol) if name_symbol else symbols[0]
    candles = validate_candles(read_candle_file(path).candles, name_tf).valid
    served = tuple(i for i in intervals if duration_ms(i) >= duration_ms(name_tf))
    if not served:
        raise UserInputError(
            f"{path} holds {name_tf} candles: serve --intervals of {name_tf} or more"
        )
    series = replay_series(candles, name_tf)
    market = Market({symbol: series}, served, f"replay of {path.name}")
    return market, series.first_open + history_ms


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (or ``--duration`` seconds)."""
    symbols = tuple(normalise_symbol(s) for s in split_list(args.symbols))
    intervals = tuple(check_timeframe(i) for i in split_list(args.intervals))
    if not symbols or not intervals:
        raise UserInputError("give at least one symbol and one interval")
    if args.speed <= 0:
        raise UserInputError(f"--speed {args.speed}: give a positive number, e.g. 1 or 60")
    history_ms = int(args.history_hours * HOUR_MS)
    market, sim_start = build_market(args.source, symbols, intervals, args.seed, history_ms)
    config = SimulatorConfig(
        port=args.port, speed=args.speed, seed=args.seed, faults=faults_from_args(args)
    )
    sim = ExchangeSimulator(market, config, sim_start_ms=sim_start)

    async def main() -> None:
        task = asyncio.create_task(sim.serve())
        while not sim.port:
            await asyncio.sleep(0.01)
            if task.done():
                task.result()
        info = {
            "market": market.label,
            "symbols": list(market.symbols),
            "intervals": list(market.intervals),
            "speed": args.speed,
            "rest_url": sim.rest_url,
            "ws_url": sim.ws_url,
            "faults": config.faults.active(),
        }
        if args.json:
            emit_json(info)
            sys.stdout.flush()
        else:
            print(f"{market.label} on 127.0.0.1 (speed x{args.speed:g})", flush=True)
            print(f"REST:      {sim.rest_url}", flush=True)
            print(f"WebSocket: {sim.ws_url}", flush=True)
            print(
                f"connect:   ghostcandle live --rest-url {sim.rest_url} --ws-url {sim.ws_url}",
                flush=True,
            )
            if info["faults"]:
                print("faults:    " + ", ".join(config.faults.active()), flush=True)
        if args.duration > 0:
            await asyncio.sleep(args.duration)
            sim.stop()
        await task

    asyncio.run(main())
    return 0

"""``ghostcandle pivots --symbol S --timeframe TF [--level K] [--from T] [--to T]``."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json, table
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.pivots import MAX_LEVEL, PivotConfig
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import check_timeframe, format_time, parse_time
from ghostcandle.engine.structure.engine import compute_structure
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.pivots import PivotStore


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "pivots",
        help="compute, store and print the multi-level pivots of a series",
        description=(
            "Compute the pivots (levels 1-5) from the stored candles, store them in pivot_points "
            "and print those whose pivot time lies in [--from, --to]."
        ),
    )
    p.add_argument("--symbol", required=True)
    p.add_argument("--timeframe", required=True)
    p.add_argument("--level", type=int, help=f"only this level (1-{MAX_LEVEL})")
    p.add_argument("--from", dest="start", help="first pivot time (epoch ms or ISO)")
    p.add_argument("--to", dest="end", help="last pivot time (epoch ms or ISO)")
    p.add_argument("--width", type=int, default=2, help="neighbours on each side (default 2)")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Compute, store and print the pivots."""
    symbol, tf = normalise_symbol(args.symbol), check_timeframe(args.timeframe)
    if args.level is not None and not 1 <= args.level <= MAX_LEVEL:
        raise UserInputError(f"--level must be 1..{MAX_LEVEL}, got {args.level}")
    start = None if args.start is None else parse_time(args.start)
    end = None if args.end is None else parse_time(args.end)
    config = PivotConfig(width=args.width)
    with open_db(args) as db:
        candles = CandleStore(db).read(symbol, tf)
        if len(candles) == 0:
            raise DataMissingError(f"no {tf} candles of {symbol} are stored: ingest some first")
        result = compute_structure(symbol, tf, candles, pivot_config=config)
        store = PivotStore(db)
        if config == PivotConfig():
            # only the default definition goes to the shared table: one meaning per pivot_type
            store.write(result.pivots)
    shown = [
        p
        for p in result.pivots
        if (args.level is None or p.level == args.level)
        and (start is None or p.pivot_time >= start)
        and (end is None or p.pivot_time <= end)
    ]
    shown.sort(key=lambda p: (p.pivot_time, p.level, p.pivot_type))
    if args.json:
        emit_json(
            {
                "symbol": symbol,
                "timeframe": tf,
                "count": len(shown),
                "pivots": [
                    {
                        "pivot_time": p.pivot_time,
                        "price": p.price,
                        "pivot_type": p.pivot_type,
                        "level": p.level,
                        "strength": p.strength,
                        "confirmed_at": p.confirmed_at,
                    }
                    for p in shown
                ],
            }
        )
        return 0
    rows = [
        [format_time(p.pivot_time), p.pivot_type, p.price, p.strength, format_time(p.confirmed_at)]
        for p in shown
    ]
    print(table(["pivot_time", "type", "price", "strength", "confirmed_at"], rows))
    print(f"{len(shown)} pivot(s)")
    return 0

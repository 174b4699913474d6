"""``ghostcandle candles --symbol S --timeframe TF --end T --count N``: read a window."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json, table
from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import (
    align_down,
    check_timeframe,
    duration_ms,
    format_time,
    parse_time,
)
from ghostcandle.domain.window import WindowSpec
from ghostcandle.store.candles import CandleStore

#: The most candles one command prints: more is a typo, and would be read into memory at once.
MAX_COUNT = 1_000_000


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "candles",
        help="print the closed candles of a window",
        description="Print exactly COUNT closed candles ending at END (or say which are missing).",
    )
    p.add_argument("--symbol", required=True)
    p.add_argument("--timeframe", required=True)
    p.add_argument("--end", help="open time of the last candle (epoch ms or ISO; default: newest)")
    p.add_argument("--count", type=int, default=20, help=f"1 to {MAX_COUNT:,} (default 20)")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the window."""
    from ghostcandle.domain.errors import DataMissingError, UserInputError

    symbol, tf = normalise_symbol(args.symbol), check_timeframe(args.timeframe)
    if not 1 <= args.count <= MAX_COUNT:
        raise UserInputError(f"--count {args.count}: give 1 to {MAX_COUNT:,} candles")
    with open_db(args, read_only=True) as db:
        store = CandleStore(db)
        if args.end is None:
            end = store.last_open_time(symbol, tf)
            if end is None:
                raise DataMissingError(f"no {tf} candles of {symbol} are stored: ingest some first")
        else:
            end = align_down(parse_time(args.end), tf)
        if end - (args.count - 1) * duration_ms(tf) < 0:
            raise UserInputError(
                f"--count {args.count} {tf} candles ending {format_time(end)} would start before "
                "1970: ask for fewer"
            )
        w = store.window(symbol, WindowSpec(tf, end, args.count))
    cols = VALUE_COLUMNS
    if args.json:
        emit_json(
            {
                "symbol": symbol,
                "timeframe": tf,
                "end_open_time": end,
                "count": args.count,
                "hash": w.content_hash(),
                "candles": [
                    {"open_time": int(t), **{c: float(v) for c, v in zip(cols, row, strict=True)}}
                    for t, row in zip(w.open_time, w.values, strict=True)
                ],
            }
        )
        return 0
    rows = [
        [format_time(int(t)), *row.tolist()] for t, row in zip(w.open_time, w.values, strict=True)
    ]
    print(table(["open_time", *cols], rows))
    print(f"hash {w.content_hash()}")
    return 0

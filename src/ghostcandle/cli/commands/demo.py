"""``ghostcandle demo``: a self-contained tour on a seeded synthetic market (no network)."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import table
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.symbols import DEFAULT_SYMBOLS
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, align_down, format_time
from ghostcandle.domain.validation import validate_candles
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.rollups import rollup_range


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo", help="fill a database with a SYNTHETIC market and show what ghostcandle stores"
    )
    p.add_argument("--days", type=int, default=7, help="days of synthetic 1m candles per symbol")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Generate, store and summarise a synthetic market."""
    end = align_down(LiveClock().now_ms(), "1d")
    start = end - args.days * DAY_MS
    with open_db(args) as db:
        store = CandleStore(db)
        for i, symbol in enumerate(DEFAULT_SYMBOLS):
            df = synthetic_candles(
                args.days * 1440,
                "1m",
                start_ms=start,
                seed=42 + i,
                start_price=3000.0 if symbol.startswith("ETH") else 60000.0,
            )
            valid = validate_candles(df, "1m").valid
            with db.transaction() as con:
                store.write_in(
                    con, symbol, "1m", valid, provenance=CandleSource.SIMULATOR, source="synthetic"
                )
                rollup_range(store, con, symbol, "1m", start, end - 1)
        series = store.series()
    print(f"SYNTHETIC market stored in {db.path} ({args.days} days, seeded)")
    print(
        table(
            ["symbol", "tf", "from", "to", "rows"],
            [
                [
                    s.symbol,
                    s.timeframe,
                    format_time(s.first_open_time),
                    format_time(s.last_open_time),
                    s.rows,
                ]
                for s in series
            ],
        )
    )
    print("next: ghostcandle candles --db", db.path, "--symbol ETH/USDT --timeframe 1h --count 10")
    return 0

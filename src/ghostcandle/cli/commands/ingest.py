"""``ghostcandle ingest PATH... [--symbol S] [--timeframe TF]``: load candle files."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json
from ghostcandle.cli.progress import progress_bar, wants_progress
from ghostcandle.ingest.service import ingest_files
from ghostcandle.store.candles import CandleStore


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "ingest",
        help="load Binance kline CSV, OHLCV CSV(.gz) or Parquet files",
        description="Validate candle files and store their good rows; nothing is written if a "
        "file cannot be read. Symbol and timeframe come from the options or the file name.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--symbol", help="e.g. ETH/USDT (default: from the file name)")
    p.add_argument("--timeframe", help="e.g. 1m (default: from the file name)")
    p.add_argument("--no-rollup", action="store_true", help="do not roll up higher timeframes")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Ingest and print the summary."""
    with (
        open_db(args) as db,
        progress_bar("ingest", enabled=wants_progress(args.json), counts=False) as bar,
    ):
        report = ingest_files(
            CandleStore(db),
            args.paths,
            symbol=args.symbol,
            timeframe=args.timeframe,
            rollup=not args.no_rollup,
            progress=bar if bar.drawn else None,
        )
    summary = report.to_json()
    if args.json:
        emit_json(summary)
        return 0
    for f in summary["files"]:
        print(f"{f['path']}: {f['symbol']} {f['timeframe']} ({f['format']})")
    print(f"rows read:  {summary['rows_read']}")
    print(f"accepted:   {summary['accepted']}")
    print(f"duplicates: {summary['duplicates']}")
    rejected = summary["rejected"]
    total = sum(rejected.values())
    detail = ", ".join(f"{k}={v}" for k, v in rejected.items())
    print(f"rejected:   {total}" + (f" ({detail})" if detail else ""))
    print(f"gaps:       {summary['gaps']} ({summary['missing_candles']} missing candles)")
    for g in summary["gap_ranges"][:10]:
        print(f"  gap {g['from']} .. {g['to']}: {g['missing']} missing")
    if summary["rolled_up"]:
        print("rolled up:  " + ", ".join(f"{k}={v}" for k, v in summary["rolled_up"].items()))
    return 0

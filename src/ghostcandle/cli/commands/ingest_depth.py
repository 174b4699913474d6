"""``ghostcandle ingest-depth FILE... [--symbol S] [--warmup-s N]``: load order-book data."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json
from ghostcandle.ingest.depth_capture import WARMUP_MS
from ghostcandle.ingest.depth_service import ingest_depth_files
from ghostcandle.store.depth import DepthStore


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "ingest-depth",
        help="load raw Binance depth recordings and book-summary CSVs into the depth table",
        description="Rebuild the order book from raw Binance WebSocket recordings "
        "(<receive_ns> <JSON> lines: depth@100ms diffs, trade, bookTicker, optional REST "
        "snapshot) and store one top-20 snapshot per second with the trades' buy/sell volume; "
        "book-summary CSVs become per-second touch and volume rows. Nothing is written if a "
        "file cannot be read.",
    )
    p.add_argument("paths", nargs="+", metavar="FILE")
    p.add_argument("--symbol", help="symbol of every file (default: from the file name)")
    p.add_argument(
        "--warmup-s",
        type=float,
        default=WARMUP_MS / 1000,
        help="seconds of diffs before a book built without a REST snapshot is kept "
        "(default %(default)s)",
    )
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Ingest and print the summary."""
    with open_db(args) as db:
        report = ingest_depth_files(
            DepthStore(db), args.paths, symbol=args.symbol, warmup_ms=int(args.warmup_s * 1000)
        )
    summary = report.to_json()
    if args.json:
        emit_json(summary)
        return 0
    for f in summary["files"]:
        print(f"{f['path']}: {f['format']}")
    print(f"lines read: {summary['lines']}")
    if summary["bad_lines"]:
        print("bad lines:  " + ", ".join(f"{k}={v}" for k, v in summary["bad_lines"].items()))
    for sym, c in summary["symbols"].items():
        rejected = ", ".join(f"{k}={v}" for k, v in c["snapshots_rejected"].items()) or "none"
        lo, hi = c["known_levels"]
        print(
            f"{sym}: {c['diffs']} diffs ({c['stale']} stale, {c['gaps']} gaps, "
            f"{c['resyncs']} resyncs), {c['trades']} trades; snapshots kept {c['snapshots_kept']}, "
            f"rejected {rejected}; levels known {lo}..{hi}; touch checked against bookTicker "
            f"{c['touch_checked']} times, {c['touch_mismatch']} mismatches"
        )
    if summary["summary_rows"]:
        rejected = ", ".join(f"{k}={v}" for k, v in summary["summary_rejected"].items()) or "none"
        print(f"book summaries: {summary['summary_rows']} rows, rejected {rejected}")
    print(f"snapshots written: {summary['snapshots_written']}")
    return 0

"""``ghostcandle info``: what the database holds."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json, table
from ghostcandle.domain.timeframes import format_time
from ghostcandle.store.candles import CandleStore


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "info", help="list stored series with time ranges, row and gap counts"
    )
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the overview."""
    with open_db(args, read_only=True) as db:
        store = CandleStore(db)
        series = store.series()
        conflicts = store.conflicts_count()
        version = db.schema_version()
    if args.json:
        emit_json(
            {
                "database": str(db.path),
                "schema_version": version,
                "refused_conflicts": conflicts,
                "series": [
                    {
                        "symbol": s.symbol,
                        "timeframe": s.timeframe,
                        "from": s.first_open_time,
                        "to": s.last_open_time,
                        "rows": s.rows,
                        "gaps": s.gaps,
                        "missing_candles": s.missing,
                        "incomplete": s.incomplete,
                    }
                    for s in series
                ],
            }
        )
        return 0
    print(f"database {db.path} (schema v{version}, {conflicts} refused conflicting rewrites)")
    if not series:
        print("no candles stored: run `ghostcandle ingest FILE` first")
        return 0
    rows = [
        [
            s.symbol,
            s.timeframe,
            format_time(s.first_open_time),
            format_time(s.last_open_time),
            s.rows,
            s.gaps,
            s.missing,
            s.incomplete,
        ]
        for s in series
    ]
    print(table(["symbol", "tf", "from", "to", "rows", "gaps", "missing", "incomplete"], rows))
    return 0

"""What every subcommand shares: the parsed arguments and the database they name."""

from __future__ import annotations

import argparse

from ghostcandle.store.db import Database, resolve_db_path


def add_common(parser: argparse.ArgumentParser) -> None:
    """Add ``--db`` and ``--json`` to a subcommand."""
    parser.add_argument(
        "--db", help="database file (default: $GHOSTCANDLE_DB or ./ghostcandle.duckdb)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def open_db(args: argparse.Namespace, *, read_only: bool = False) -> Database:
    """Open the database the arguments name."""
    return Database(resolve_db_path(args.db), read_only=read_only)

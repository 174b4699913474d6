"""What every subcommand shares: the parsed arguments and the database they name."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ghostcandle.domain.errors import UserInputError
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


def model_config_json(text: str) -> dict[str, Any]:
    """Return the ``--model-config`` JSON object, or raise one line saying how to write it."""
    try:
        extra = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"--model-config is not JSON ({exc.msg}): give e.g. '{{\"d_model\": 32}}'"
        ) from None
    if not isinstance(extra, dict):
        raise UserInputError("--model-config must be a JSON object, e.g. '{\"d_model\": 32}'")
    return extra

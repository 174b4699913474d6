"""``ghostcandle paper reset``: start a live session's paper account again."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json


def register(sub: Any) -> None:
    """Add the subcommand and its actions."""
    p: argparse.ArgumentParser = sub.add_parser(
        "paper", help="manage the paper trading accounts of live sessions"
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    reset = actions.add_parser(
        "reset",
        help="start a session's paper account again at its initial equity",
        description=(
            "Drop the account's positions, waiting orders, trades and equity curve and set its "
            "cash back to the initial equity; its settings stay. Stop the server first (it owns "
            "the database), or use the Reset button of the live panel while it runs."
        ),
    )
    reset.add_argument("--session", required=True, help="the live session's id")
    add_common(reset)
    reset.set_defaults(handler=run_reset)


def run_reset(args: argparse.Namespace) -> int:
    """Reset the account and print what it holds now."""
    from ghostcandle.domain.clock import LiveClock
    from ghostcandle.engine.trading.paper import reset_account
    from ghostcandle.store.paper import PaperStore

    with open_db(args) as db:
        summary = reset_account(PaperStore(db), None, args.session, LiveClock().now_ms())
    if args.json:
        emit_json(summary)
    else:
        print(
            f"paper account of {args.session} reset: equity {summary['equity']:.2f}, "
            f"no positions, no trades"
        )
    return 0

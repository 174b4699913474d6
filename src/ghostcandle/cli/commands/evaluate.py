"""``ghostcandle evaluate``: score stored predictions, every model beside the baselines."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.commands.replay import evaluation_table
from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.engine.evaluation.report import COLUMNS as EVAL_COLUMNS
from ghostcandle.engine.evaluation.report import evaluate
from ghostcandle.store.predictions import PredictionLedger
from ghostcandle.store.sessions import SessionStore


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "evaluate",
        help="score resolved predictions: MAE, skill vs persistence, direction, calibration",
        description="Score the resolved predictions of a session (default: the newest one).",
    )
    p.add_argument("--session", help="session id (default: the newest session with predictions)")
    p.add_argument("--list", action="store_true", help="list the sessions and stop")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the evaluation."""
    with open_db(args, read_only=True) as db:
        ledger, sessions = PredictionLedger(db), SessionStore(db)
        ids = ledger.sessions()
        if args.list:
            rows = [{"session_id": s, **ledger.counts(s)} for s in ids]
            if args.json:
                emit_json({"sessions": rows})
            else:
                for r in rows:
                    print(r)
            return 0
        if not ids:
            raise DataMissingError(
                "no predictions are stored: run `ghostcandle replay` (or a live session) first"
            )
        session = args.session or ids[-1]
        if session not in ids:
            raise DataMissingError(
                f"session {session!r} has no predictions: pick one of {', '.join(ids[-5:])}"
            )
        report = evaluate(ledger.frame(session, columns=EVAL_COLUMNS))
        counts = ledger.counts(session)
        row = sessions.get(session)
    out = {
        "session_id": session,
        "config": None if row is None else dict(row.config),
        "counts": counts,
        "evaluation": report,
    }
    if args.json:
        emit_json(out)
        return 0
    print(f"session {session}: {counts}")
    print(evaluation_table(report))
    return 0

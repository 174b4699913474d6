"""``ghostcandle evaluate``: score stored predictions, every model beside the baselines."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.eval_table import evaluation_table
from ghostcandle.cli.output import emit_json
from ghostcandle.engine.evaluation.session_evaluation import evaluate_session
from ghostcandle.store.predictions import PredictionLedger


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "evaluate",
        help="score resolved predictions beside the baselines: skill with DM tests, direction, "
        "calibration, trading value",
        description=(
            "Score the resolved predictions of a session (default: the newest one): MAE and "
            "skill of open/high/low/close/volume against persistence and the strongest baseline "
            "(Diebold-Mariano p-values), direction (Wilson interval, binomial test), actions "
            "beside majority and HOLD, Brier score and ECE, range coverage, and the actions "
            "through the broker against flat and buy-and-hold."
        ),
    )
    p.add_argument("--session", help="session id (default: the newest session with predictions)")
    p.add_argument("--list", action="store_true", help="list the sessions and stop")
    add_common(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the evaluation."""
    with open_db(args, read_only=True) as db:
        if args.list:
            ledger = PredictionLedger(db)
            rows = [{"session_id": s, **ledger.counts(s)} for s in ledger.sessions()]
            if args.json:
                emit_json({"sessions": rows})
            else:
                for r in rows:
                    print(r)
            return 0
        out = evaluate_session(db, args.session)
    if args.json:
        emit_json(out)
        return 0
    print(f"session {out['session_id']}: {out['counts']}")
    print(evaluation_table(out["evaluation"]))
    return 0

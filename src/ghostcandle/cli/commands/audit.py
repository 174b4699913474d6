"""``ghostcandle audit lookahead --symbol S --timeframe TF [--cuts N] [--json]`` and
``ghostcandle audit session --session ID [--json]``."""

from __future__ import annotations

import argparse
from typing import Any

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json, table
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import check_timeframe, format_time
from ghostcandle.engine.evaluation.session_audit import BREACHES, audit_session
from ghostcandle.engine.structure.lookahead_audit import audit_lookahead
from ghostcandle.store.candles import CandleStore


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "audit",
        help="check that features, pivots and trained weights never read the future",
        description="Audits of the stored data and the features computed from it.",
    )
    kinds = p.add_subparsers(dest="audit", metavar="AUDIT", required=True)
    la: argparse.ArgumentParser = kinds.add_parser(
        "lookahead",
        help="recompute on truncated data and compare with the full run",
        description=(
            "Recompute indicators, pivots and rapid moves on the series truncated at N random "
            "cut points and compare every value known at each cut with the full run. Exits 1 "
            "if any value differs."
        ),
    )
    la.add_argument("--symbol", required=True)
    la.add_argument("--timeframe", required=True)
    la.add_argument("--cuts", type=int, default=20, help="number of random cut points")
    la.add_argument("--seed", type=int, default=0, help="seed of the cut points")
    add_common(la)
    la.set_defaults(handler=run)
    se: argparse.ArgumentParser = kinds.add_parser(
        "session",
        help="check a session's predictions used weights trained only on what was known",
        description=(
            "For every prediction of the session's learning model, check that the weights it "
            "used were trained only on recorded steps, submitted by its decision time, on "
            "frames resolved by then; that no good step was recorded twice; and that the "
            "committed progress agrees with the records. Exits 1 on any breach."
        ),
    )
    se.add_argument("--session", required=True, help="session id")
    add_common(se)
    se.set_defaults(handler=run_session)


def run(args: argparse.Namespace) -> int:
    """Run the audit; return 1 if any value differs."""
    symbol, tf = normalise_symbol(args.symbol), check_timeframe(args.timeframe)
    with open_db(args, read_only=True) as db:
        candles = CandleStore(db).read(symbol, tf)
    if len(candles) == 0:
        raise DataMissingError(f"no {tf} candles of {symbol} are stored: ingest some first")
    report = audit_lookahead(symbol, tf, candles, cuts=args.cuts, seed=args.seed)
    if args.json:
        emit_json(report.to_json())
    else:
        if report.mismatches:
            rows = [
                [format_time(m.cut_time), m.what, m.key, m.full, m.truncated]
                for m in report.mismatches
            ]
            print(table(["cut", "what", "key", "full run", "truncated run"], rows))
        print(
            f"look-ahead audit of {symbol} {tf}: {report.candles} candles, "
            f"{len(report.cuts)} cuts, {report.values_compared} values compared, "
            f"{report.mismatch_count} mismatch(es)"
        )
    return 0 if report.ok else 1


def run_session(args: argparse.Namespace) -> int:
    """Audit one session; return 1 on a breach."""
    with open_db(args, read_only=True) as db:
        audit = audit_session(db, args.session)
    if args.json:
        emit_json(audit.to_json())
        return 0 if audit.ok else 1
    for kind, n in audit.counts.items():
        if n:
            print(f"BREACH {kind}: {n} {BREACHES[kind]}; e.g. {' | '.join(audit.examples[kind])}")
    verdict = "ok" if audit.ok else f"{sum(audit.counts.values())} breach(es)"
    print(
        f"session audit of {audit.session_id} ({audit.model}, from step {audit.start_step}): "
        f"{audit.predictions} predictions, {audit.good_steps} good steps, {verdict}"
    )
    return 0 if audit.ok else 1

"""The evaluation of one stored session: what ``ghostcandle evaluate`` and the web API answer."""

from __future__ import annotations

from typing import Any

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.engine.evaluation.report import COLUMNS, evaluate
from ghostcandle.store.db import Database
from ghostcandle.store.predictions import PredictionLedger
from ghostcandle.store.sessions import SessionStore


def evaluate_session(db: Database, session_id: str | None = None) -> dict[str, Any]:
    """Return ``{session_id, config, counts, evaluation}`` of a session (default: the newest).

    The action labels use the session's own move threshold. Raise ``DataMissingError`` (one
    line naming what to do) when no predictions are stored or the session has none.
    """
    ledger, sessions = PredictionLedger(db), SessionStore(db)
    ids = ledger.sessions()
    if not ids:
        raise DataMissingError(
            "no predictions are stored: run `ghostcandle replay` (or a live session) first"
        )
    session = session_id or ids[-1]
    if session not in ids:
        raise DataMissingError(
            f"session {session!r} has no predictions: pick one of {', '.join(ids[-5:])}"
        )
    row = sessions.get(session)
    config = None if row is None else dict(row.config)
    threshold = float((config or {}).get("threshold", DEFAULT_MOVE_THRESHOLD))
    report = evaluate(ledger.frame(session, columns=COLUMNS), threshold=threshold)
    return {
        "session_id": session,
        "config": config,
        "counts": ledger.counts(session),
        "evaluation": report,
    }

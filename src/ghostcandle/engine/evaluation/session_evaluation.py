"""The evaluation of one stored session: what ``ghostcandle evaluate``, the web API and a
replay's summary answer.

A session's ledger is read and evaluated one timeframe at a time (``evaluate_stored``): every
figure is of one timeframe, and a long replay's ledger is a million rows (~200MB as a frame),
nearly all of its finest timeframe. The figures are those of ``evaluate`` over the whole
ledger: a timeframe's rows come in the same order, and the report is laid out alike.
"""

from __future__ import annotations

from typing import Any

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.engine.evaluation.stored_evaluation import evaluate_timeframe
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
    report = evaluate_stored(ledger, session, threshold)
    return {
        "session_id": session,
        "config": config,
        "counts": ledger.counts(session),
        "evaluation": report,
    }


def evaluate_stored(
    ledger: PredictionLedger, session_id: str, threshold: float
) -> dict[str, dict[str, dict[str, Any]]]:
    """Return ``evaluate`` of a session's resolved predictions, read a timeframe at a time.

    Only one timeframe's frame is held at once; the report is ``{model: {timeframe: ...}}``
    in ``evaluate``'s order (models, then timeframes, sorted).
    """
    timeframes = sorted({tf for _, tf in ledger.last_decisions(session_id)})
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for tf in timeframes:
        for model, figures in evaluate_timeframe(ledger.db, session_id, tf, threshold).items():
            out.setdefault(model, {})[tf] = figures
    return dict(sorted(out.items()))

"""The evaluation of one stored session: what ``ghostcandle evaluate``, the web API and a
replay's summary answer.

A session's ledger is read and evaluated one timeframe at a time (``evaluate_stored``): every
figure is of one timeframe, and a long replay's ledger is a million rows (~200MB as a frame),
nearly all of its finest timeframe. A timeframe of up to ``FRAME_ROWS`` predictions is read as
one frame and handed to ``evaluate`` (fastest); a larger one is evaluated from a few columns at
a time (``stored_evaluation``: its memory stays that of a few arrays, at ~3x the time). The
figures are those of ``evaluate`` over the whole ledger either way, float for float.
"""

from __future__ import annotations

from typing import Any

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.engine.evaluation.report import COLUMNS, evaluate
from ghostcandle.engine.evaluation.stored_evaluation import evaluate_timeframe
from ghostcandle.store.db import Database
from ghostcandle.store.predictions import PredictionLedger
from ghostcandle.store.sessions import SessionStore

#: a timeframe of at most this many predictions is evaluated as one frame (~20MB)
FRAME_ROWS = 100_000


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
    ledger: PredictionLedger, session_id: str, threshold: float, *, frame_rows: int = FRAME_ROWS
) -> dict[str, dict[str, dict[str, Any]]]:
    """Return ``evaluate`` of a session's resolved predictions, read a timeframe at a time.

    A timeframe of at most ``frame_rows`` predictions is one frame, a larger one is read a few
    columns at a time (module doc); the report is ``{model: {timeframe: ...}}`` in
    ``evaluate``'s order (models, then timeframes, sorted). DuckDB's cache ends no bigger than
    it was (``Database.cache_bounded``).
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    # the ranges read are trimmed from DuckDB's cache down to what it held before
    with ledger.db.cache_bounded():
        for tf, rows in sorted(ledger.rows_per_timeframe(session_id).items()):
            if rows <= frame_rows:
                frame = ledger.frame(session_id, columns=COLUMNS, timeframe=tf)
                figures = {m: f[tf] for m, f in evaluate(frame, threshold=threshold).items()}
                del frame
            else:
                figures = evaluate_timeframe(ledger.db, session_id, tf, threshold)
            for model, of_tf in figures.items():
                out.setdefault(model, {})[tf] = of_tf
    return dict(sorted(out.items()))

"""The leaderboard: every model of every session, scored on the same resolved predictions.

Within a session and timeframe, every model (learning ones and the baselines scored beside
them) is scored only on the targets that *all* of them resolved, so no model looks better for
having skipped the hard candles. Across sessions the targets differ (another symbol, another
time), so the ranking uses figures relative to the session's own strongest baseline: the close
MAE skill ``MAE(model) / MAE(strongest baseline)`` (below 1 beats every baseline), then the
direction accuracy. Beside them: net P&L through the broker (fees and slippage paid), the
expected calibration error of the action confidences, and the model's age — the optimiser
steps its weights have taken (the start checkpoint's steps plus the session's) and how long the
session has run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.engine.evaluation.report import COLUMNS, evaluate
from ghostcandle.models.registry import baseline_names
from ghostcandle.store.db import Database
from ghostcandle.store.predictions import PredictionLedger
from ghostcandle.store.sessions import SessionRow, SessionStore

#: Sessions on the board when none are named: the newest ones with predictions.
DEFAULT_SESSIONS = 20


def shared_targets(resolved: pd.DataFrame) -> pd.DataFrame:
    """Keep, per timeframe, only the targets every model of that timeframe resolved."""
    if resolved.empty:
        return resolved
    keys = ["timeframe", "symbol", "target_open_time"]
    models = resolved.groupby("timeframe")["model"].transform("nunique")
    have = resolved.groupby(keys)["model"].transform("nunique")
    return resolved[have == models]


def _rank_key(e: dict[str, Any]) -> tuple[int, float, float]:
    skill, direction = e["skill_vs_strongest"], e["direction_accuracy"]
    return (
        skill is None,
        float("inf") if skill is None else float(skill),
        -(direction if direction is not None else -1.0),
    )


def _net_pnl(figures: dict[str, Any]) -> tuple[float | None, float | None, int | None]:
    """Return the summed net P&L, mean return % and trades over the symbols traded."""
    trading = figures.get("trading") or {}
    models = [t["model"] for t in trading.values() if t.get("model")]
    if not models:
        return None, None, None
    pnl = sum(float(m.get("pnl") or 0.0) for m in models)
    ret = sum(float(m.get("return_pct") or 0.0) for m in models) / len(models)
    trades = sum(int(m.get("trades") or 0) for m in models)
    return pnl, ret, trades


def _entry(
    session: str, row: SessionRow | None, model: str, tf: str, f: dict[str, Any]
) -> dict[str, Any]:
    strongest = (f.get("skill") or {}).get("close", {}).get("vs_strongest")
    pnl, ret, trades = _net_pnl(f)
    learns = model not in baseline_names(depth=True)
    own = row is not None and str(row.config.get("model", "")) == model
    steps = (row.start_step + row.train_steps) if (learns and own and row) else None
    return {
        "session_id": session,
        "session_kind": None if row is None else row.kind,
        "session_status": None if row is None else row.status,
        "model": model,
        "learns": learns,
        "timeframe": tf,
        "n": f["n"],
        "status": f["status"],
        "skill_vs_strongest": None if strongest is None else strongest["skill"],
        "strongest_baseline": None if strongest is None else strongest["baseline"],
        "skill_p_value": None if strongest is None else strongest["dm"]["p_value"],
        "direction_accuracy": (f.get("directional") or {}).get("accuracy"),
        "action_accuracy": f.get("action_accuracy"),
        "net_pnl": pnl,
        "net_return_pct": ret,
        "trades": trades,
        "calibration_ece": (f.get("action") or {}).get("ece"),
        "age_steps": steps,
        "start_step": row.start_step if (learns and own and row) else None,
        "age_ms": None if row is None else max(0, row.updated_at - row.created_at),
    }


def leaderboard(
    db: Database, sessions: Sequence[str] | None = None, *, limit: int = DEFAULT_SESSIONS
) -> dict[str, Any]:
    """Return ``{sessions, entries, notes}``: one entry per session, model and timeframe, best
    first (see module doc). ``sessions`` names them (default: the newest ``limit``).

    Raise ``DataMissingError`` (one line) for a named session without predictions.
    """
    ledger, store = PredictionLedger(db), SessionStore(db)
    known = ledger.sessions()
    if sessions:
        unknown = [s for s in sessions if s not in known]
        if unknown:
            raise DataMissingError(
                f"session {unknown[0]!r} has no predictions: pick sessions from "
                "GET /api/leaderboard (no sessions named) or `ghostcandle evaluate`"
            )
        ids = list(dict.fromkeys(sessions))
    else:
        ids = known[-limit:]
    entries: list[dict[str, Any]] = []
    notes: list[str] = []
    for sid in ids:
        row = store.get(sid)
        threshold = float((row.config if row else {}).get("threshold", DEFAULT_MOVE_THRESHOLD))
        resolved = shared_targets(ledger.frame(sid, columns=COLUMNS))
        if resolved.empty:
            notes.append(f"{sid}: no target resolved by all its models yet")
            continue
        report = evaluate(resolved, threshold=threshold)
        for model, by_tf in report.items():
            for tf, figures in by_tf.items():
                entries.append(_entry(sid, row, model, tf, figures))
    entries.sort(key=_rank_key)
    for rank, e in enumerate(entries, start=1):
        e["rank"] = rank
    if not known:
        notes.append("no predictions are stored: start a live session or run `ghostcandle replay`")
    return {"sessions": ids, "entries": entries, "notes": notes}

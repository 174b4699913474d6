"""``/api/checkpoints``: the named checkpoints a live session or backtest can start from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ghostcandle.engine.training.start_checkpoint import has_start_checkpoint
from ghostcandle.store.offline_runs import OfflineRunStore
from ghostcandle.web.deps import WorkspaceDep

router = APIRouter(prefix="/api", tags=["engine"])


@router.get("/checkpoints")
def checkpoints(ws: WorkspaceDep) -> dict[str, Any]:
    """List the named offline-trained checkpoints still stored, newest first: each name's
    newest run (``ghostcandle train --list``), usable as ``start_from: NAME``."""
    newest: dict[str, Any] = {}
    for rec in OfflineRunStore(ws.db).list():  # oldest first: a later run of a name wins
        if rec.name and rec.checkpoint:
            newest[rec.name] = rec
    out = [
        {
            "name": name,
            "model": rec.model,
            "symbol": rec.symbol,
            "timeframes": list(rec.timeframes),
            "created_at": rec.created_at,
            "epochs_run": rec.epochs_run,
        }
        for name, rec in newest.items()
        if has_start_checkpoint(ws.db.path, ws.clock, name)
    ]
    out.sort(key=lambda c: (-int(c["created_at"]), str(c["name"])))
    return {"checkpoints": out}

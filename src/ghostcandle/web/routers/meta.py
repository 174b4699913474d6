"""``/api/status``: what this server holds and which panels can run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ghostcandle import __version__
from ghostcandle.web.deps import WorkspaceDep

router = APIRouter(prefix="/api", tags=["status"])


@router.get("/status")
def status(ws: WorkspaceDep) -> dict[str, Any]:
    """Return the version, the stored series, the panels' availability, the server time and
    the database's memory (DuckDB's ``bytes`` held, its ``limit``, the ``wal_bytes`` not yet
    checkpointed, its eviction queues' ``queue_nodes`` and ``dead_queue_nodes``, and what its
    ``cache_keeper`` keeps and has freed)."""
    series = ws.spans.current()  # kept up to date from what was added, not a full scan
    symbols = sorted({s.symbol for s in series})
    return {
        "version": __version__,
        "now": ws.clock.now_ms(),
        "token_required": ws.config.needs_token,
        "symbols": symbols,
        "series": [
            {
                "symbol": s.symbol,
                "timeframe": s.timeframe,
                "first_open_time": s.first_open_time,
                "last_open_time": s.last_open_time,
                "rows": s.rows,
            }
            for s in series
        ],
        "features": {
            name: {"available": f.available, "reason": f.reason} for name, f in ws.features.items()
        },
        "database": {**ws.db.memory(), "cache_keeper": ws.runtime.cache_keeper.to_json()},
    }

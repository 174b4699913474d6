"""What the learning system knows: its samples' quality and every model's standing.

``/api/samples/stats`` answers what ``ghostcandle samples stats --json`` prints;
``/api/leaderboard`` ranks every model of every session on the same resolved predictions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ghostcandle.domain.errors import UserInputError
from ghostcandle.engine.evaluation.leaderboard import DEFAULT_SESSIONS, leaderboard
from ghostcandle.store.sample_stats import sample_stats
from ghostcandle.web.deps import WorkspaceDep

router = APIRouter(prefix="/api", tags=["learning"])


@router.get("/samples/stats")
def samples_stats(ws: WorkspaceDep) -> dict[str, Any]:
    """Return the training samples by source and status, their completeness histogram, the
    newest quarantined ones with reasons and the most profitable validated setups."""
    return sample_stats(ws.db).to_json()


@router.get("/leaderboard")
def leaderboard_view(
    ws: WorkspaceDep,
    sessions: Annotated[
        str | None,
        Query(max_length=2000, description="comma list of session ids (default: the newest)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = DEFAULT_SESSIONS,
) -> dict[str, Any]:
    """Rank every model of the sessions, each session's models on the targets all of them
    resolved: skill against the strongest baseline, direction, net P&L, calibration, age.

    404 with one line when a named session has no predictions.
    """
    named = None
    if sessions is not None:
        named = [s.strip() for s in sessions.split(",") if s.strip()]
        if not named:
            raise UserInputError("field 'sessions': name at least one session id, or leave it out")
    return leaderboard(ws.db, named, limit=limit)

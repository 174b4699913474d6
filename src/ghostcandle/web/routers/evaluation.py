"""``/api/evaluation``: a session's predictions scored beside the baselines (as ``evaluate``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ghostcandle.engine.evaluation.session_evaluation import evaluate_session
from ghostcandle.web.deps import WorkspaceDep

router = APIRouter(prefix="/api", tags=["evaluation"])


@router.get("/evaluation")
def evaluation(
    ws: WorkspaceDep,
    session: Annotated[str, Query(min_length=1, max_length=200, description="a session id")],
) -> dict[str, Any]:
    """Return the evaluation of ``session``: the object ``ghostcandle evaluate --json`` prints.

    404 with one line when the session has no predictions.
    """
    return evaluate_session(ws.db, session)

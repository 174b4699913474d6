"""``/api/training-runs``: recorded training runs and their curves (as ``ghostcandle train``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.engine.training.run_view import run_detail
from ghostcandle.store.training_runs import TrainingRunStore
from ghostcandle.web.deps import WorkspaceDep
from ghostcandle.web.run_schemas import TrainingRunDetailOut, TrainingRunsOut

router = APIRouter(prefix="/api", tags=["training"])


@router.get("/training-runs", response_model=TrainingRunsOut)
def training_runs(
    ws: WorkspaceDep,
    kind: Annotated[
        str | None, Query(pattern="^(annotations|offline|session)$", description="only these")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Return the recorded training runs, newest first (``ghostcandle train list --json``)."""
    runs = TrainingRunStore(ws.db).list(kind=kind, limit=limit)
    return {"runs": [r.to_json(curves=False) for r in runs]}


@router.get("/training-runs/{run_id}", response_model=TrainingRunDetailOut)
def training_run(
    ws: WorkspaceDep,
    run_id: Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")],
) -> dict[str, Any]:
    """Return one run with its loss curves, convergence, value and newest steps; 404 if none."""
    if TrainingRunStore(ws.db).get(run_id) is None:
        raise DataMissingError(f"no training run {run_id!r} is recorded")
    return run_detail(ws.db, run_id)

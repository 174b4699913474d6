"""The seeds' engine endpoints: training, live inference, manual labels, backtest, models.

Each drives an engine part built in another issue; while that part is missing from the build,
the endpoint validates the request and answers 503 naming what is missing (no fake data).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ghostcandle.web.deps import WorkspaceDep
from ghostcandle.web.errors import FeatureUnavailableError
from ghostcandle.web.schemas import BacktestIn, LiveStartIn, ManualTrainIn, TrainIn
from ghostcandle.web.workspace import Workspace

router = APIRouter(prefix="/api", tags=["engine"])


def _require(ws: Workspace, feature: str) -> None:
    f = ws.features[feature]
    if not f.available:
        raise FeatureUnavailableError(f"{feature} is not available: {f.reason}")


@router.get("/models")
def models(ws: WorkspaceDep) -> dict[str, Any]:
    """List the models of the registry that can be trained and run."""
    f = ws.features["training"]
    return {"models": [], "available": f.available, "reason": f.reason}


@router.post("/train-model", status_code=202)
def train_model(ws: WorkspaceDep, body: TrainIn) -> dict[str, Any]:
    """Train a model on all or selected annotations in the background."""
    for aid in body.annotation_ids or []:
        ws.annotations.get(aid)
    _require(ws, "training")
    raise FeatureUnavailableError("training is not wired to the trainer yet")


@router.post("/live-training/start", status_code=202)
def live_start(ws: WorkspaceDep, body: LiveStartIn) -> dict[str, Any]:
    """Start live inference (and training per ``mode``) on a feed."""
    _require(ws, "live")
    raise FeatureUnavailableError("live mode is not wired to the loop yet")


@router.post("/live-training/stop")
def live_stop(ws: WorkspaceDep) -> dict[str, Any]:
    """Stop live inference."""
    _require(ws, "live")
    raise FeatureUnavailableError("live mode is not wired to the loop yet")


@router.get("/live-training/status")
def live_status(ws: WorkspaceDep) -> dict[str, Any]:
    """Return whether live mode runs, its latest signal and its metrics."""
    f = ws.features["live"]
    return {"running": False, "available": f.available, "reason": f.reason}


@router.get("/live-training/predictions")
def live_predictions(
    ws: WorkspaceDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> dict[str, Any]:
    """Return the most recent predictions of the live session."""
    _require(ws, "live")
    raise FeatureUnavailableError("live mode is not wired to the loop yet")


@router.post("/realtime-inference/train-manual")
def train_manual(ws: WorkspaceDep, body: ManualTrainIn) -> dict[str, Any]:
    """In manual mode, train on the current candle with the trader's label."""
    _require(ws, "live")
    raise FeatureUnavailableError("live mode is not wired to the loop yet")


@router.post("/backtest", status_code=202)
def backtest(ws: WorkspaceDep, body: BacktestIn) -> dict[str, Any]:
    """Backtest a model over a time range (the chart's visible range)."""
    if body.end <= body.start:
        from ghostcandle.domain.errors import UserInputError

        raise UserInputError("field 'end' must be after 'start': select a visible range")
    _require(ws, "backtest")
    raise FeatureUnavailableError("backtest is not wired to the engine yet")

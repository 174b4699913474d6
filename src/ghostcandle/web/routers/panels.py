"""The seeds' engine endpoints: training, live inference, manual labels, backtest, models.

Bodies are validated by pydantic (a 422 naming the field) and by the engine (a 400/404/409
naming the field and what to do); a refused request changes nothing. While an engine part is
missing from the build, its endpoint answers 503 naming what is missing (no fake data).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from ghostcandle.domain.errors import UserInputError
from ghostcandle.engine.runtime import DEFAULT_LIVE_MODEL, LiveRequest
from ghostcandle.engine.trading.paper import change_settings, reset_account
from ghostcandle.engine.training.start_checkpoint import has_start_checkpoint
from ghostcandle.store.paper import PaperStore
from ghostcandle.web.deps import WorkspaceDep
from ghostcandle.web.errors import FeatureUnavailableError
from ghostcandle.web.live_bridge import prediction_json
from ghostcandle.web.schemas import (
    BacktestIn,
    LiveStartIn,
    ManualTrainIn,
    ModelOut,
    ModelsOut,
    PaperResetIn,
    PaperSettingsIn,
    Timeframe,
    TrainIn,
)
from ghostcandle.web.workspace import Workspace

router = APIRouter(prefix="/api", tags=["engine"])
#: Which live session an endpoint is about (none: the newest one started); 404 for an unknown id.
SessionQuery = Annotated[str | None, Query(max_length=200)]


def _check_start_from(ws: Workspace, value: str) -> None:
    """Refuse, as a field error (422), a ``start_from`` that names no stored checkpoint."""
    if not has_start_checkpoint(ws.db.path, ws.clock, value):
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "start_from"),
                    "msg": f"{value!r} is not fresh, annotations nor a stored checkpoint name "
                    "(ghostcandle train --name NAME)",
                    "type": "value_error",
                }
            ]
        )


def _push_status(ws: Workspace, session_id: str) -> None:
    """Push the live status of ``session_id`` if the runtime keeps that session."""
    if any(s["session_id"] == session_id for s in ws.runtime.sessions()):
        ws.hub.publish("live", ws.live.status(session_id))


def _require(ws: Workspace, feature: str) -> None:
    f = ws.features[feature]
    if not f.available:
        raise FeatureUnavailableError(f"{feature} is not available: {f.reason}")


@router.get("/models")
def models(ws: WorkspaceDep) -> ModelsOut:
    """List the models of the registry (``learns``: whether training can change it) and the
    live default (``default_live``: what a live start that names no model runs)."""
    f = ws.features["training"]
    return ModelsOut(
        models=[ModelOut(**m) for m in ws.training.models()],
        default_live=DEFAULT_LIVE_MODEL,
        available=f.available,
        reason=f.reason,
    )


@router.post("/train-model", status_code=202)
def train_model(ws: WorkspaceDep, body: TrainIn) -> dict[str, Any]:
    """Train a model on all or selected annotations in the background (progress over SSE).

    With no annotations the answer says "No test cases found — create annotations first".
    """
    _require(ws, "training")
    return ws.training.start(body.model, body.epochs, body.annotation_ids)


@router.get("/train-model/status")
def train_status(ws: WorkspaceDep) -> dict[str, Any]:
    """Return the state of the last training job (the SSE stream pushes every change)."""
    return dict(ws.training.state)


@router.post("/live-training/start", status_code=202)
def live_start(ws: WorkspaceDep, body: LiveStartIn) -> dict[str, Any]:
    """Start live inference, paper trading (and training per ``mode``) on the exchange feed.

    ``start_from: "annotations"`` starts from the model's latest annotation-trained checkpoint
    (404 if there is none, 400 if the feed cannot serve its timeframes); ``start_from: NAME``
    from the offline-trained checkpoint NAME (422 if there is none). Sessions run side by side:
    409 while the same session (model, symbol, timeframes) runs, or while the most sessions at
    once do (nothing changes). The answer is the new session's status.
    """
    _require(ws, "live")
    _check_start_from(ws, body.start_from)
    ex = ws.runtime.exchange
    if ex is not None and (body.feed == "simulator") != ex.synthetic:
        have = "the exchange simulator" if ex.synthetic else f"the exchange at {ex.rest_url}"
        raise UserInputError(
            f"field 'feed': {body.feed!r} is not connected; this server streams from {have}"
        )
    session = ws.runtime.start_live(
        LiveRequest(
            symbol=body.symbol,
            mode=body.mode,
            model=body.model,
            start_from=body.start_from,
            timeframes=tuple(body.timeframes),
        )
    )
    status = ws.live.status(session.config.session_id)
    ws.hub.publish("live", status)
    return status


@router.post("/live-training/stop")
def live_stop(ws: WorkspaceDep, session_id: SessionQuery = None) -> dict[str, Any]:
    """Stop the live session ``session_id`` (none: the newest; training steps in flight
    finish, a checkpoint is written); the others keep running.

    409 when it does not run, 404 for an unknown id (nothing changes).
    """
    _require(ws, "live")
    session = ws.runtime.stop_live(session_id)
    status = ws.live.status(session.config.session_id)
    ws.hub.publish("live", status)
    return status


@router.get("/live-training/status")
def live_status(ws: WorkspaceDep, session_id: SessionQuery = None) -> dict[str, Any]:
    """Return the live session's ``state`` (``state_reason`` if failed), its signals, metrics
    and paper account (``paper``), and ``sessions``: every session side by side.

    ``session_id`` picks the session (none: the newest; 404 for an unknown id). The SSE stream
    pushes the same object as ``live`` events after every closed candle of each session.
    """
    f = ws.features["live"]
    return {
        **ws.live.status(session_id),
        "available": f.available,
        "reason": f.reason,
        "engine_error": ws.feed_error,
    }


@router.get("/live-training/predictions")
def live_predictions(
    ws: WorkspaceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    timeframe: Annotated[Timeframe | None, Query()] = None,
    session_id: SessionQuery = None,
) -> dict[str, Any]:
    """Return the most recent predictions of the live session ``session_id`` (none: the
    newest), newest first (of one ``timeframe`` if given: the hourly ghosts are not among the
    newest 1s predictions)."""
    _require(ws, "live")
    slot = ws.runtime.slot(session_id)
    session = None if slot is None else slot.session
    if session is None:
        return {"running": False, "predictions": []}
    recs = session.recent_predictions(limit, timeframe)
    return {"running": session.running, "predictions": [prediction_json(r) for r in recs]}


@router.post("/paper/reset")
def paper_reset(ws: WorkspaceDep, body: PaperResetIn) -> dict[str, Any]:
    """Start a session's paper account again at its initial equity (404 if it has none).

    A running live session keeps trading on the reset account from its next candle.
    """
    rt = ws.runtime
    trader = rt.paper_of(body.session_id)
    summary = reset_account(PaperStore(rt.db), trader, body.session_id, rt.clock.now_ms())
    _push_status(ws, body.session_id)
    return summary


@router.patch("/paper/settings")
def paper_settings(ws: WorkspaceDep, body: PaperSettingsIn) -> dict[str, Any]:
    """Change a session's paper account's ``min_confidence`` (0-1) and/or ``cooldown`` (candles
    of its timeframe); they are stored with the account and rule from its next signal.

    404 if the session has no account; 422 for a value out of range (nothing changes).
    """
    rt = ws.runtime
    changes = body.model_dump(exclude={"session_id"}, exclude_none=True)
    now = rt.clock.now_ms()
    trader = rt.paper_of(body.session_id)
    summary = change_settings(PaperStore(rt.db), trader, body.session_id, changes, now)
    _push_status(ws, body.session_id)
    return summary


@router.post("/realtime-inference/train-manual")
def train_manual(
    ws: WorkspaceDep, body: ManualTrainIn, session_id: SessionQuery = None
) -> dict[str, Any]:
    """In manual mode, train the live session ``session_id`` (none: the newest) on the
    current candle's frame with the trader's label."""
    _require(ws, "live")
    frame = ws.runtime.label(body.action, session_id)
    return {
        "status": "queued",
        "action": body.action,
        "frame_id": frame.frame_id,
        "decision_time": frame.decision_time,
    }


@router.post("/backtest", status_code=202)
def backtest(ws: WorkspaceDep, body: BacktestIn) -> dict[str, Any]:
    """Backtest a model over a time range (the chart's visible range).

    ``start_from: "annotations"`` backtests the model's latest annotation-trained checkpoint,
    ``start_from: NAME`` the offline-trained checkpoint NAME. The broker's fees, slippage,
    minimum confidence, long-only and HOLD meaning, and the training mode, are the body's;
    a value out of range is a 422 naming the field, and nothing runs.
    """
    if body.end <= body.start:
        raise UserInputError("field 'end' must be after 'start': select a visible range")
    _require(ws, "backtest")
    _check_start_from(ws, body.start_from)
    from ghostcandle.engine.trading.backtest import BacktestRequest

    return ws.backtests.start(
        BacktestRequest(
            model=body.model,
            symbol=body.symbol,
            timeframe=body.timeframe,
            start=body.start,
            end=body.end,
            start_from=body.start_from,
            train=body.train,
            broker=body.broker(),
        )
    )


@router.get("/backtest/status")
def backtest_status(ws: WorkspaceDep) -> dict[str, Any]:
    """Return the state of the last backtest (the SSE stream pushes every change)."""
    return dict(ws.backtests.state)

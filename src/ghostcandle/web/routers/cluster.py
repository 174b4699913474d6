"""``/api/cluster``: the live groups of ``serve --ray``, each a Ray actor with its own database.

``GET /api/cluster`` lists the actors (group, symbols, node, pid, restarts, session state); the
others start and stop a group's session and read its ledger, predictions and candles through its
actor. Without ``--ray`` the list is empty (``enabled: false``) and the others answer 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ghostcandle.distributed.live_cluster import LiveCluster
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.runtime import LiveRequest
from ghostcandle.web.schemas import StartFrom, Timeframe

router = APIRouter(prefix="/api/cluster", tags=["cluster"])

Group = Annotated[str, Path(max_length=200, pattern=r"^[A-Za-z0-9_.+-]+$")]


class ClusterStartIn(BaseModel):
    """Start a group's live session (``symbol``: the group's first one if empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = ""
    model: str = Field(default="", max_length=100)
    mode: TrainingMode = TrainingMode.NONE
    start_from: StartFrom = "fresh"
    timeframes: list[Timeframe] = Field(default_factory=list, max_length=4)

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, value: str) -> str:
        if not value:
            return ""
        try:
            return normalise_symbol(value[:40])
        except UserInputError as exc:  # a field error (422), as every body's
            raise ValueError(str(exc)) from None


def _cluster(request: Request) -> LiveCluster:
    cluster: LiveCluster | None = getattr(request.app.state, "cluster", None)
    if cluster is None:
        raise DataMissingError(
            "this server runs without Ray: start it with `ghostcandle serve --ray [ADDRESS] "
            "--exchange-url URL` to run live groups as actors"
        )
    return cluster


@router.get("")
def cluster_status(request: Request) -> dict[str, Any]:
    """Return every live group's actor: node, pid, restarts, session state, last candles."""
    cluster: LiveCluster | None = getattr(request.app.state, "cluster", None)
    if cluster is None:
        return {"enabled": False, "actors": []}
    return {"enabled": True, "folder": str(cluster.folder), "actors": cluster.status()}


@router.post("/{group}/start", status_code=202)
def cluster_start(request: Request, group: Group, body: ClusterStartIn) -> dict[str, Any]:
    """Start the group's live session (paper trading; training per ``mode``); 409 if one runs."""
    cluster = _cluster(request)
    symbols = cluster.symbols.get(group, ())
    req = LiveRequest(
        symbol=body.symbol or (symbols[0] if symbols else ""),
        mode=body.mode,
        model=body.model,
        start_from=body.start_from,
        timeframes=tuple(body.timeframes),
    )
    return cluster.start(group, req)


@router.post("/{group}/stop")
def cluster_stop(request: Request, group: Group) -> dict[str, Any]:
    """Stop the group's live session (flushed and checkpointed); 409 if none runs."""
    return _cluster(request).stop(group)


@router.get("/{group}/ledger")
def cluster_ledger(request: Request, group: Group) -> dict[str, Any]:
    """Return the group's paper account and its session's prediction counts."""
    return _cluster(request).ledger(group)


@router.get("/{group}/predictions")
def cluster_predictions(
    request: Request, group: Group, limit: Annotated[int, Query(ge=1, le=5000)] = 50
) -> dict[str, Any]:
    """Return the group's newest committed predictions, newest first."""
    return {"group": group, "predictions": _cluster(request).predictions(group, limit)}


@router.get("/{group}/candles")
def cluster_candles(
    request: Request,
    group: Group,
    symbol: Annotated[str, Query(max_length=40)],
    timeframe: Annotated[Timeframe, Query()] = "1m",
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> dict[str, Any]:
    """Return the newest closed candles of one of the group's series, oldest first."""
    sym = normalise_symbol(symbol)
    return {
        "group": group,
        "symbol": sym,
        "timeframe": timeframe,
        "candles": _cluster(request).candles(group, sym, timeframe, limit),
    }

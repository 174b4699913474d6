"""``/api/events``: Server-Sent Events pushing training, live and annotation updates."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from ghostcandle.web.deps import WorkspaceDep

router = APIRouter(prefix="/api", tags=["events"])


@router.get("/events")
def events(ws: WorkspaceDep) -> StreamingResponse:
    """Stream events as ``text/event-stream`` (kinds: annotations, training, live, backtest)."""
    return StreamingResponse(
        ws.hub.stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

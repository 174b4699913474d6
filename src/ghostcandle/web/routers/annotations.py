"""``/api/annotations``: create, list, read, change and delete marked trades."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.store.annotation_frames import MARKET_STATE_LENGTH
from ghostcandle.store.annotations import Annotation
from ghostcandle.web.deps import WorkspaceDep
from ghostcandle.web.schemas import (
    AnnotationIn,
    AnnotationOut,
    AnnotationPatch,
    AnnotationPreviewIn,
    AnnotationPreviewOut,
)

router = APIRouter(prefix="/api/annotations", tags=["annotations"])
AnnotationId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{12}$", description="12 lowercase hex digits")
]


def _out(ws: WorkspaceDep, ann: Annotation) -> AnnotationOut:
    return AnnotationOut(
        **ann.to_json(), test_case_file=str(ws.annotations.test_case_path(ann.annotation_id))
    )


@router.get("")
def list_annotations(
    ws: WorkspaceDep, symbol: Annotated[str | None, Query(max_length=40)] = None
) -> list[AnnotationOut]:
    """List annotations (of one symbol if given), oldest entry first."""
    sym = None if symbol is None else normalise_symbol(symbol)
    return [_out(ws, a) for a in ws.annotations.list(sym)]


@router.post("", status_code=201)
def create_annotation(ws: WorkspaceDep, body: AnnotationIn) -> AnnotationOut:
    """Mark a trade; its test case is written as ``annotation_<id>.json``."""
    ann = ws.annotations.create(
        body.symbol,
        body.timeframe,
        body.entry_time,
        body.exit_time,
        direction=body.direction,
        notes=body.notes,
    )
    ws.hub.publish("annotations", {"changed": ann.annotation_id})
    return _out(ws, ann)


@router.post("/preview")
def preview_annotation(ws: WorkspaceDep, body: AnnotationPreviewIn) -> AnnotationPreviewOut:
    """Check a trade before saving it: missing candles are rolled up or fetched first, then
    the answer says how many closed candles per timeframe its test case would hold."""
    ann = ws.annotations.preview(body.symbol, body.timeframe, body.entry_time, body.exit_time)
    view = ann.to_json()
    return AnnotationPreviewOut(
        direction=ann.direction,
        profit_loss_pct=ann.profit_loss_pct,
        completeness=view["completeness"],
        complete=ann.complete,
        wanted=MARKET_STATE_LENGTH,
    )


@router.get("/{annotation_id}")
def get_annotation(ws: WorkspaceDep, annotation_id: AnnotationId) -> AnnotationOut:
    """Return one annotation."""
    return _out(ws, ws.annotations.get(annotation_id))


@router.patch("/{annotation_id}")
def update_annotation(
    ws: WorkspaceDep, annotation_id: AnnotationId, body: AnnotationPatch
) -> AnnotationOut:
    """Change an annotation; its test case is rebuilt."""
    ann = ws.annotations.update(
        annotation_id,
        entry_time=body.entry_time,
        exit_time=body.exit_time,
        direction=body.direction,
        notes=body.notes,
    )
    ws.hub.publish("annotations", {"changed": ann.annotation_id})
    return _out(ws, ann)


@router.delete("/{annotation_id}", status_code=204)
def delete_annotation(ws: WorkspaceDep, annotation_id: AnnotationId) -> None:
    """Delete an annotation and its test case file."""
    ws.annotations.delete(annotation_id)
    ws.hub.publish("annotations", {"deleted": annotation_id})

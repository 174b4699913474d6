"""``/api/test-cases``: test cases materialised from annotations; bulk export and import."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from ghostcandle.web.deps import WorkspaceDep
from ghostcandle.web.schemas import AnnotationOut, TestCasesIn

router = APIRouter(prefix="/api/test-cases", tags=["test cases"])


@router.get("")
def list_test_cases(ws: WorkspaceDep) -> list[dict[str, Any]]:
    """List the test cases (one per annotation) and where their files are."""
    return [
        {
            "test_case_id": f"annotation_{a.annotation_id}",
            "annotation_id": a.annotation_id,
            "symbol": a.symbol,
            "direction": a.direction,
            "file": str(ws.annotations.test_case_path(a.annotation_id)),
        }
        for a in ws.annotations.list()
    ]


@router.get("/export")
def export_test_cases(ws: WorkspaceDep) -> dict[str, Any]:
    """Return every test case, materialised now from its frame reference."""
    return {"test_cases": [ws.annotations.test_case(a) for a in ws.annotations.list()]}


@router.post("/import", status_code=201)
def import_test_cases(ws: WorkspaceDep, body: TestCasesIn) -> list[AnnotationOut]:
    """Create annotations from test cases; if any case is bad, none is imported."""
    anns = ws.annotations.import_test_cases(body.test_cases)
    ws.hub.publish("annotations", {"imported": len(anns)})
    return [
        AnnotationOut(
            **a.to_json(), test_case_file=str(ws.annotations.test_case_path(a.annotation_id))
        )
        for a in anns
    ]


@router.get("/{test_case_id}")
def get_test_case(
    ws: WorkspaceDep,
    test_case_id: Annotated[str, Path(pattern=r"^annotation_[0-9a-f]{12}$")],
) -> dict[str, Any]:
    """Return one test case, materialised from its annotation's frame reference."""
    ann = ws.annotations.get(test_case_id.removeprefix("annotation_"))
    return ws.annotations.test_case(ann)

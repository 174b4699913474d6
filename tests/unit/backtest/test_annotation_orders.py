"""Annotations become position targets at their entry and exit closes."""

from __future__ import annotations

from ghostcandle.domain.frames import FrameRef
from ghostcandle.engine.trading.annotation_strategy import annotation_orders
from ghostcandle.store.annotations import Annotation

M = 60_000


def _ann(entry: int, exit_: int, direction: str) -> Annotation:
    frame = FrameRef("f", "annotation", "1", "X", (entry + 1) * M, ())
    return Annotation(
        "0123456789ab",
        "X",
        "1m",
        entry * M,
        exit_ * M,
        1.0,
        1.0,
        direction,
        "",  # type: ignore[arg-type]
        frame,
        0,
        0,
    )


def test_entries_and_exits_become_targets_exits_first() -> None:
    anns = [_ann(10, 20, "LONG"), _ann(20, 30, "SHORT"), _ann(40, 90, "LONG")]
    orders = annotation_orders(anns, 5 * M, 60 * M)
    # entry at the close of candle 10 (11 min); at 21 min one trade leaves and the next enters
    assert orders == {11 * M: [1], 21 * M: [0, -1], 31 * M: [0], 41 * M: [1]}


def test_annotations_entered_outside_the_range_are_left_out() -> None:
    anns = [_ann(1, 20, "LONG"), _ann(70, 80, "SHORT")]
    assert annotation_orders(anns, 5 * M, 60 * M) == {}

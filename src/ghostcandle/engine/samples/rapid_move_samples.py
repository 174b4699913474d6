"""Rapid moves as training samples: the frame just before the move, labelled by its direction.

A move detected on the candle opening at ``o`` (closing at ``detected_at``) becomes a sample
whose frame is what a model could read at ``o``: per timeframe, the window ending at the newest
candle closed by ``o`` (never the move's own candle). Its label is BUY for a move up, SELL for
one down (HOLD if flat); the frame's target is the move's candle, closed at ``detected_at``, the
time the sample is recorded at. A model's windows decide the frame's, so whoever knows the
model passes them (the structure engine is given them by its owner).
"""

from __future__ import annotations

from collections.abc import Mapping

from ghostcandle.domain.actions import Action
from ghostcandle.domain.events import RapidMoveEvent
from ghostcandle.domain.frames import FrameRef, make_frame_id
from ghostcandle.domain.samples import NewSample, SampleSource
from ghostcandle.domain.timeframes import align_down, duration_ms
from ghostcandle.domain.window import WindowSpec

RAPID_MOVE_MODEL = "rapid_move"
RAPID_MOVE_VERSION = "1"


def specs_known_at(decision_time: int, windows: Mapping[str, int]) -> tuple[WindowSpec, ...]:
    """Return per timeframe the window ending at the newest candle closed by ``decision_time``."""
    return tuple(
        WindowSpec(tf, align_down(decision_time, tf) - duration_ms(tf), int(n))
        for tf, n in windows.items()
    )


def move_label(direction: int) -> Action:
    """Return the action a move of ``direction`` called for."""
    return Action.BUY if direction > 0 else Action.SELL if direction < 0 else Action.HOLD


def rapid_move_sample(event: RapidMoveEvent, windows: Mapping[str, int]) -> NewSample:
    """Return the sample of ``event`` for a model reading ``windows`` (see the module doc)."""
    decision = event.open_time
    specs = specs_known_at(decision, windows)
    frame = FrameRef(
        frame_id=make_frame_id(RAPID_MOVE_MODEL, event.symbol, decision, specs),
        model=RAPID_MOVE_MODEL,
        model_version=RAPID_MOVE_VERSION,
        symbol=event.symbol,
        decision_time=decision,
        windows=specs,
        target_time=event.detected_at,
    )
    return NewSample(
        frame=frame,
        source=SampleSource.RAPID_MOVE,
        timeframe=event.timeframe,
        label=int(move_label(event.direction)),
        labels={"value": float(event.value), "threshold": float(event.threshold)},
        origin=f"{event.kind}:{event.timeframe}:{event.open_time}",
    )

"""An annotation as a record: the marked trade, its P&L, its training sample and its table row.

``store.annotations.AnnotationStore`` writes and reads these; everything here is pure apart from
the frame's completeness, which reads nothing but the frame reference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ghostcandle.domain.actions import Action
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.samples import NewSample, SampleSource
from ghostcandle.domain.timeframes import close_time
from ghostcandle.store.annotation_frames import MARKET_STATE_LENGTH, completeness

Direction = Literal["LONG", "SHORT"]
_ID_RE = re.compile(r"^[0-9a-f]{12}$")
ANNOTATION_COLUMNS = (
    "annotation_id, symbol, timeframe, entry_time, exit_time, entry_price, exit_price, "
    "direction, notes, frame, created_at, updated_at"
)
INSERT_ANNOTATION = (
    f"INSERT INTO annotations ({ANNOTATION_COLUMNS}) "
    f"VALUES ({', '.join('?' * len(ANNOTATION_COLUMNS.split(',')))})"
)


def check_annotation_id(text: str) -> str:
    """Return ``text`` if it is a well-formed annotation id (12 hex digits), else raise."""
    if not _ID_RE.match(text):
        raise UserInputError(
            f"annotation id {text[:40]!r} is not valid: ids are 12 lowercase hex digits"
        )
    return text


@dataclass(frozen=True)
class Annotation:
    """A marked trade: enter at the close of one candle, exit at the close of a later one."""

    annotation_id: str
    symbol: str
    timeframe: str
    entry_time: int
    exit_time: int
    entry_price: float
    exit_price: float
    direction: Direction
    notes: str
    frame: FrameRef
    created_at: int
    updated_at: int

    @property
    def decision_time(self) -> int:
        """Return when the trade was entered: the close of the entry candle."""
        return close_time(self.entry_time, self.timeframe)

    @property
    def exit_decision_time(self) -> int:
        """Return when the trade was left: the close of the exit candle."""
        return close_time(self.exit_time, self.timeframe)

    @property
    def holding_period_seconds(self) -> float:
        """Return how long the trade was held."""
        return (self.exit_decision_time - self.decision_time) / 1000.0

    @property
    def profit_loss_pct(self) -> float:
        """Return the trade's return in percent, signed for its direction."""
        return trade_pnl_pct(self.direction, self.entry_price, self.exit_price)

    @property
    def complete(self) -> bool:
        """Return whether the frame holds 100 closed candles of every timeframe."""
        return all(n == MARKET_STATE_LENGTH for n in completeness(self.frame).values())

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the API's view of an annotation)."""
        return {
            "annotation_id": self.annotation_id,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "entry_time": self.entry_time,
            "exit_time": self.exit_time,
            "entry_price": self.entry_price,
            "exit_price": self.exit_price,
            "direction": self.direction,
            "profit_loss_pct": self.profit_loss_pct,
            "holding_period_seconds": self.holding_period_seconds,
            "notes": self.notes,
            "decision_time": self.decision_time,
            "frame_id": self.frame.frame_id,
            "completeness": completeness(self.frame),
            "complete": self.complete,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def trade_pnl_pct(direction: str, entry_price: float, exit_price: float) -> float:
    """Return the return of a trade in percent.

    >>> round(trade_pnl_pct("LONG", 100.0, 103.0), 6)
    3.0
    >>> round(trade_pnl_pct("SHORT", 100.0, 103.0), 6)
    -3.0
    """
    sign = 1.0 if direction == "LONG" else -1.0
    return sign * (exit_price - entry_price) / entry_price * 100.0


def annotation_sample(ann: Annotation) -> NewSample:
    """Return the training sample of ``ann``: its entry frame, BUY for LONG, SELL for SHORT."""
    return NewSample(
        frame=ann.frame,
        source=SampleSource.ANNOTATION,
        timeframe=ann.timeframe,
        label=int(Action.BUY if ann.direction == "LONG" else Action.SELL),
        labels={"profit_loss_pct": ann.profit_loss_pct},
        origin=f"annotation:{ann.annotation_id}",
    )


def infer_direction(entry_price: float, exit_price: float) -> Direction:
    """Return the direction that profits from the move: LONG if the price rose, else SHORT."""
    return "LONG" if exit_price >= entry_price else "SHORT"


def check_notes(notes: str) -> str:
    """Return ``notes`` without trailing blanks or newlines (Enter in the notes box saves)."""
    if len(notes) > 2000:
        raise UserInputError(f"notes are {len(notes)} characters long: keep them under 2000")
    return notes.rstrip()


def annotation_row(a: Annotation) -> list[Any]:
    return [
        a.annotation_id,
        a.symbol,
        a.timeframe,
        a.entry_time,
        a.exit_time,
        a.entry_price,
        a.exit_price,
        a.direction,
        a.notes,
        json.dumps(a.frame.to_json()),
        a.created_at,
        a.updated_at,
    ]


def annotation_from_row(r: Sequence[Any]) -> Annotation:
    direction: Direction = "LONG" if r[7] == "LONG" else "SHORT"
    return Annotation(
        annotation_id=str(r[0]),
        symbol=str(r[1]),
        timeframe=str(r[2]),
        entry_time=int(r[3]),
        exit_time=int(r[4]),
        entry_price=float(r[5]),
        exit_price=float(r[6]),
        direction=direction,
        notes=str(r[8]),
        frame=FrameRef.from_json(json.loads(r[9])),
        created_at=int(r[10]),
        updated_at=int(r[11]),
    )

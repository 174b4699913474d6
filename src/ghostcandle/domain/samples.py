"""Training samples: where one came from and whether it may be trained on (vocabulary only).

A training sample is a reference (DESIGN.md §3, §8): a frame, a label, a source, a priority,
never a copy of candles. ``SampleSource`` shares its strings with ``TrainingSource`` where the
two name the same thing (``candle``, ``pivot``, ``manual``); a training step's source says why a
step ran, a sample's source says what the example is.

>>> sample_source_of(TrainingSource.ANNOTATIONS) is SampleSource.ANNOTATION
True
>>> make_sample_id(SampleSource.CANDLE, "f" * 24) == make_sample_id("candle", "f" * 24)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.sample_quality import SampleQuality
from ghostcandle.domain.training_sources import TrainingSource


class SampleSource(StrEnum):
    """What a training example is."""

    #: a resolved prediction (or an offline decision point) labelled by its price move
    CANDLE = "candle"
    #: a frame decided at a confirmed pivot, labelled BUY at a low and SELL at a high
    PIVOT = "pivot"
    #: a trade the trader marked on the chart
    ANNOTATION = "annotation"
    #: a label the trader gave for the current candle
    MANUAL = "manual"
    #: the frame before a detected rapid move, labelled by the move's direction
    RAPID_MOVE = "rapid_move"
    #: an agent's transition (state and next state are frames)
    EXPERIENCE = "experience"


class SampleStatus(StrEnum):
    """Whether a sample may be trained on."""

    #: trainable (its integrity is still checked at every read)
    OK = "ok"
    #: its frame no longer hashes as recorded: never trained on again
    QUARANTINED = "quarantined"
    #: its input is too incomplete or invalid to train on
    EXCLUDED = "excluded"


_FROM_TRAINING = {
    TrainingSource.CANDLE: SampleSource.CANDLE,
    TrainingSource.PIVOT: SampleSource.PIVOT,
    TrainingSource.MANUAL: SampleSource.MANUAL,
    TrainingSource.ANNOTATIONS: SampleSource.ANNOTATION,
    TrainingSource.OFFLINE: SampleSource.CANDLE,
}


def sample_source_of(reason: TrainingSource) -> SampleSource:
    """Return the source of the samples a training step of ``reason`` learns from."""
    try:
        return _FROM_TRAINING[reason]
    except KeyError:
        raise ValueError(
            f"a {reason.value!r} training step names no kind of sample: give the sample's source"
        ) from None


def make_sample_id(source: str, frame_id: str, origin: str = "", label: int | None = None) -> str:
    """Return the deterministic id of a sample: the same example recorded twice is one row."""
    key = f"{source}|{frame_id}|{origin}|{'' if label is None else label}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class NewSample:
    """An example to record: its frame (by reference), what it is, and what it should learn.

    ``timeframe`` is the timeframe whose candle the label is about; ``label`` an ``Action``
    value; ``labels`` any further numeric labels (a move, a profit); ``origin`` names what the
    sample came from when the frame alone does not (``annotation:<id>``, a rapid move's key).
    """

    frame: FrameRef
    source: SampleSource
    timeframe: str
    label: int
    labels: Mapping[str, float] = field(default_factory=dict)
    priority: float = 1.0
    origin: str = ""

    @cached_property
    def sample_id(self) -> str:
        """Return the sample's deterministic id."""
        return make_sample_id(self.source, self.frame.frame_id, self.origin, self.label)


@dataclass(frozen=True)
class Sample:
    """A recorded sample as stored: the example, its quality, and whether it may be trained."""

    sample_id: str
    frame: FrameRef
    source: SampleSource
    timeframe: str
    label: int
    labels: Mapping[str, float]
    priority: float
    origin: str
    status: SampleStatus
    reason: str
    quality: SampleQuality
    created_at: int

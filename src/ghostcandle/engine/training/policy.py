"""Training modes: which resolved frames and pivots become training samples, and when.

- ``none``: nothing is ever trained.
- ``every_candle``: every resolved prediction is a sample, labelled by the price move net of
  round-trip costs (``domain.actions``: BUY above +threshold, SELL below -threshold, else HOLD;
  the threshold defaults to the broker's round-trip cost); when a pivot is later confirmed at a
  frame's decision candle, that frame is trained again with the pivot's label (BUY at a low,
  SELL at a high), which is what the candle called for. The pivot's samples wait for the
  timeframe's next batch of resolved predictions and ride in it (they are not a step each).
- ``pivots_only``: only frames decided at a pivot candle, a step as soon as the pivot is
  confirmed.
- ``manual``: a request supplies the action for the current candle's frame.

Samples go into a per-timeframe buffer; every ``interval`` new resolved predictions a batch of
the newest ones (at most ``batch_size``), with every pivot sample confirmed since the last
batch, filled up to ``batch_size`` from the buffer (seeded), is submitted to the one trainer.
A batch is submitted when its last label became known, so each of its samples was labelled by
then (no look-ahead).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD, Action, action_from_move
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import CandleCompletionEvent, PivotEvent
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.normalisation import param_keys
from ghostcandle.domain.training_modes import TrainingMode, parse_mode
from ghostcandle.domain.training_sources import TrainingSource


@dataclass(frozen=True, slots=True)
class Schedule:
    """Per-timeframe training settings: batch size, buffer size, samples between batches."""

    batch_size: int
    buffer_size: int
    interval: int

    def __post_init__(self) -> None:
        if min(self.batch_size, self.buffer_size, self.interval) < 1:
            raise UserInputError(f"training schedule {self} needs every value >= 1")


#: Defaults: fast timeframes train on larger, less frequent batches; slow ones on every sample.
DEFAULT_SCHEDULES: Mapping[str, Schedule] = {
    "1s": Schedule(batch_size=32, buffer_size=2000, interval=10),
    "1m": Schedule(batch_size=16, buffer_size=1000, interval=1),
    "1h": Schedule(batch_size=8, buffer_size=500, interval=1),
    "1d": Schedule(batch_size=4, buffer_size=200, interval=1),
}
_FALLBACK = Schedule(batch_size=8, buffer_size=500, interval=1)


@dataclass(frozen=True, slots=True)
class TrainingSample:
    """A frame (by reference), the timeframe it predicted, and the action it should have taken."""

    frame: FrameRef
    timeframe: str
    action: int
    reason: TrainingSource


Submit = Callable[[Sequence[TrainingSample], TrainingSource], None]


@dataclass
class TrainingPolicy:
    """A ``TrainingEventSubscriber`` that turns matched frames into batches for one mode."""

    mode: TrainingMode
    submit: Submit
    schedules: Mapping[str, Schedule] = field(default_factory=lambda: dict(DEFAULT_SCHEDULES))
    threshold: float = DEFAULT_MOVE_THRESHOLD
    seed: int = 0
    samples: int = 0
    batches: int = 0

    def __post_init__(self) -> None:
        self.mode = parse_mode(self.mode)
        self._rng = random.Random(self.seed)
        self._buffers: dict[str, deque[TrainingSample]] = {}
        self._fresh: dict[str, list[TrainingSample]] = {}
        # resolved predictions since the timeframe's last batch (pivots do not count)
        self._resolved: dict[str, int] = {}

    def schedule(self, timeframe: str) -> Schedule:
        """Return the schedule of ``timeframe``."""
        return self.schedules.get(timeframe, _FALLBACK)

    # -- subscriber ---------------------------------------------------------------------------
    def on_candle_completion(self, event: CandleCompletionEvent, frame_ref: FrameRef) -> None:
        """In ``every_candle``, learn the resolved frame with the price-move label."""
        if self.mode is not TrainingMode.EVERY_CANDLE:
            return
        ref_close = frame_ref.norm_params[param_keys(event.timeframe)[0]]
        label = action_from_move(ref_close, event.candle.close, self.threshold)
        self._add(
            TrainingSample(frame_ref, event.timeframe, int(label), TrainingSource.CANDLE),
            urgent=False,
        )

    def on_pivot_event(self, event: PivotEvent, frame_refs: Sequence[FrameRef]) -> None:
        """In ``every_candle`` and ``pivots_only``, learn the pivot's label now it is confirmed."""
        if not self.mode.learns_pivots:
            return
        label = Action.SELL if event.pivot.is_high else Action.BUY
        for ref in frame_refs:
            self._add(
                TrainingSample(ref, event.timeframe, int(label), TrainingSource.PIVOT), urgent=False
            )
        if self.mode is TrainingMode.PIVOTS_ONLY:  # no batch of resolved predictions to join
            self._flush(event.timeframe, TrainingSource.PIVOT)

    def manual(self, frame: FrameRef, timeframe: str, action: Action) -> None:
        """Learn ``action`` for ``frame`` at once (``manual`` mode only)."""
        if self.mode is not TrainingMode.MANUAL:
            raise UserInputError(
                f"this session trains in {self.mode.value!r} mode: "
                "start one in manual mode to label"
            )
        self._add(TrainingSample(frame, timeframe, int(action), TrainingSource.MANUAL), urgent=True)

    def buffered(self, timeframe: str) -> list[TrainingSample]:
        """Return the samples held for ``timeframe``, oldest first."""
        return list(self._buffers.get(timeframe, ()))

    # -- batching -----------------------------------------------------------------------------
    def _add(self, sample: TrainingSample, *, urgent: bool) -> None:
        tf = sample.timeframe
        sch = self.schedule(tf)
        buf = self._buffers.get(tf)
        if buf is None or buf.maxlen != sch.buffer_size:
            buf = self._buffers[tf] = deque(buf or (), maxlen=sch.buffer_size)
        buf.append(sample)
        fresh = self._fresh.setdefault(tf, [])
        fresh.append(sample)
        self.samples += 1
        if sample.reason is TrainingSource.CANDLE:
            self._resolved[tf] = self._resolved.get(tf, 0) + 1
        if urgent or self._resolved.get(tf, 0) >= sch.interval:
            self._flush(tf, sample.reason)

    def _flush(self, timeframe: str, reason: TrainingSource) -> None:
        fresh = self._fresh.pop(timeframe, [])
        self._resolved.pop(timeframe, None)
        if not fresh:
            return
        sch = self.schedule(timeframe)
        # every pivot sample since the last batch, and the newest resolved predictions
        pivots = [s for s in fresh if s.reason is TrainingSource.PIVOT]
        others = [s for s in fresh if s.reason is not TrainingSource.PIVOT]
        batch = pivots + others[-sch.batch_size :]
        chosen = {s.frame.frame_id for s in batch}
        older = [s for s in self._buffers[timeframe] if s.frame.frame_id not in chosen]
        room = sch.batch_size - len(batch)
        if room > 0 and older:
            batch = batch + self._rng.sample(older, min(room, len(older)))
        self.batches += 1
        self.submit(batch, reason)

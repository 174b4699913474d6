"""A session's resolution: pending predictions meet their candles (or expire), frames go on.

The resolver holds the pending predictions by target; the coordinator holds the learning
model's recent frames, and hands the training policy the frame a closed candle resolved and the
frames a confirmed pivot labels. A prediction that expires takes its frame out of training.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ghostcandle.domain.events import CandleCompletionEvent, PivotEvent
from ghostcandle.domain.frames import FrameRef
from ghostcandle.engine.loop.coordinator import (
    InferenceTrainingCoordinator,
    TrainingEventSubscriber,
)
from ghostcandle.engine.loop.predictor import PredictionMade
from ghostcandle.engine.loop.resolver import Resolver
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import PredictionRecord

log = logging.getLogger(__name__)


class Resolution:
    """Resolve and expire a session's predictions; route their frames to training."""

    def __init__(self, threshold: float, training: TrainingEventSubscriber) -> None:
        self.resolver = Resolver(threshold)
        self.coordinator = InferenceTrainingCoordinator()
        self.coordinator.add_subscriber(training)

    def recover(
        self,
        pending: Sequence[PredictionRecord],
        candles: CandleStore,
        frames: FrameStore,
        learner: str | None,
        now: int,
    ) -> list[PredictionRecord]:
        """Take back pending predictions after a restart; return those resolved or expired.

        The learning model's (``learner``; None: no model learns) frames still pending train
        when their target closes, as they would have without the restart.
        """
        changed = self.resolver.recover(pending, candles, now)
        mine = [r for r in self.resolver.pending() if learner is not None and r.model == learner]
        stored = frames.get_many(rec.frame_id for rec in mine)
        for rec in mine:
            if rec.frame_id in stored:
                self.coordinator.register(rec.timeframe, stored[rec.frame_id])
            else:  # its frame was never stored: it cannot train
                log.warning("pending prediction %s has no stored frame", rec.prediction_id)
        return changed

    def on_candle(self, event: CandleCompletionEvent, now: int) -> list[PredictionRecord]:
        """Resolve what targeted the closed candle, hand its frames on; return the resolved."""
        resolved = self.resolver.on_candle(event.candle, now)
        self.coordinator.on_candle_completion(event)
        return resolved

    def expire(self, now: int) -> list[PredictionRecord]:
        """Expire what waited past its grace period; its frames never train. Return them."""
        expired = self.resolver.expire(now)
        for rec in expired:
            self.coordinator.forget_target(rec.symbol, rec.timeframe, rec.target_open_time)
        return expired

    def add(self, made: PredictionMade, timeframe: str) -> None:
        """Wait for the target of a new prediction (its frame too, if its model learns)."""
        self.resolver.add(made.record)
        if made.learns:
            self.coordinator.register(timeframe, made.frame)

    def on_pivot(self, event: PivotEvent) -> None:
        """Hand a confirmed pivot on, with the frames decided at its candle."""
        self.coordinator.on_pivot_event(event)

    def latest(self, symbol: str, timeframe: str) -> FrameRef | None:
        """Return the learning model's newest frame of a series, or None."""
        return self.coordinator.latest(symbol, timeframe)

    def __len__(self) -> int:
        """Return how many predictions wait for their target."""
        return len(self.resolver)

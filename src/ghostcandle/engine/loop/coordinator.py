"""The inference/training coordinator: match frames to candle completions and pivot events.

A frame is matched to a candle completion by its target (the candle it predicted), and to a
pivot by its decision time: the frames decided at the close of the pivot's candle are the ones
that should have said BUY (at a low) or SELL (at a high). Pivots arrive when confirmed, some
candles later, so the coordinator remembers the recent frames of each series.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol

from ghostcandle.domain.events import CandleCompletionEvent, PivotEvent
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.timeframes import close_time, duration_ms


class TrainingEventSubscriber(Protocol):
    """What the coordinator calls when frames meet their labels."""

    def on_candle_completion(self, event: CandleCompletionEvent, frame_ref: FrameRef) -> None:
        """Handle the target candle of ``frame_ref`` having closed."""
        ...

    def on_pivot_event(self, event: PivotEvent, frame_refs: Sequence[FrameRef]) -> None:
        """Handle a confirmed pivot at the decision time of ``frame_refs``."""
        ...


class InferenceTrainingCoordinator:
    """Remember frames by target and decision time; hand them to subscribers when labels come.

    ``memory`` is how many recent decisions per ``(symbol, timeframe)`` stay matchable to a pivot.
    """

    def __init__(self, memory: int = 4096) -> None:
        self._subscribers: list[TrainingEventSubscriber] = []
        self._by_target: dict[tuple[str, str, int], list[FrameRef]] = {}
        self._by_decision: dict[tuple[str, str], deque[tuple[int, FrameRef]]] = {}
        self._memory = memory
        self.matched_candles = 0
        self.matched_pivots = 0

    def add_subscriber(self, subscriber: TrainingEventSubscriber) -> None:
        """Call ``subscriber`` on every match from now on."""
        self._subscribers.append(subscriber)

    def register(self, timeframe: str, ref: FrameRef) -> None:
        """Remember a frame whose prediction targets the next ``timeframe`` candle."""
        if ref.target_time is None:
            raise ValueError(f"frame {ref.frame_id} has no target_time: set it when predicting")

        target_open = ref.target_time - duration_ms(timeframe)
        self._by_target.setdefault((ref.symbol, timeframe, target_open), []).append(ref)
        recent = self._by_decision.setdefault((ref.symbol, timeframe), deque(maxlen=self._memory))
        recent.append((ref.decision_time, ref))

    def latest(self, symbol: str, timeframe: str) -> FrameRef | None:
        """Return the newest frame of the series, if any (the current candle's decision)."""
        recent = self._by_decision.get((symbol, timeframe))
        return recent[-1][1] if recent else None

    def on_candle_completion(self, event: CandleCompletionEvent) -> list[FrameRef]:
        """Hand every frame that targeted this candle to the subscribers; return them."""
        key = (event.symbol, event.timeframe, event.candle.open_time)
        refs = self._by_target.pop(key, [])
        for ref in refs:
            for sub in self._subscribers:
                sub.on_candle_completion(event, ref)
        self.matched_candles += len(refs)
        return refs

    def forget_target(self, symbol: str, timeframe: str, target_open_time: int) -> None:
        """Drop frames whose target will never come (their predictions expired)."""
        self._by_target.pop((symbol, timeframe, target_open_time), None)

    def on_pivot_event(self, event: PivotEvent) -> list[FrameRef]:
        """Hand the frames decided at the pivot candle's close to the subscribers; return them."""
        decided = close_time(event.pivot.pivot_time, event.timeframe)
        recent = self._by_decision.get((event.symbol, event.timeframe), ())
        refs = [ref for t, ref in recent if t == decided]
        if refs:
            for sub in self._subscribers:
                sub.on_pivot_event(event, refs)
            self.matched_pivots += 1
        return refs

"""The resolver: pending predictions meet their target candle, or expire after a grace period.

Pending predictions are held in memory, indexed by target ``(symbol, timeframe, open_time)``,
so a candle close resolves its predictions without a query. Nothing stays pending forever:
``expire(now)`` retires every prediction whose ``expires_at`` has passed. After a restart,
``recover`` reloads the pending rows and resolves them from candles stored meanwhile.
``action_correct`` compares each action with the label of its move net of round-trip costs
(``domain.actions``; the threshold defaults to the broker's round-trip cost).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD
from ghostcandle.domain.candles import Candle, candles_from_frame
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.predictions import PredictionRecord

Key = tuple[str, str, int]


def default_grace_ms(timeframe: str) -> int:
    """Return how long after its target's close a prediction may wait: 3 candles, at least 10 s.

    >>> default_grace_ms("1m"), default_grace_ms("1s")
    (180000, 10000)
    """
    return max(3 * duration_ms(timeframe), 10_000)


#: resolved targets' deadlines tolerated before the heap is compacted (amortised O(1) per add)
_SLACK = 256


class Resolver:
    """Hold pending predictions and resolve or expire them."""

    def __init__(self, threshold: float = DEFAULT_MOVE_THRESHOLD) -> None:
        self.threshold = threshold
        self._by_target: dict[Key, list[PredictionRecord]] = {}
        self._deadlines: list[tuple[int, Key]] = []
        self.resolved = 0
        self.expired = 0

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_target.values())

    @property
    def deadlines_held(self) -> int:
        """Return how many deadlines are kept (resolved targets' are dropped as they pile up)."""
        return len(self._deadlines)

    def add(self, record: PredictionRecord) -> None:
        """Hold a new pending prediction until its target closes or it expires."""
        key = (record.symbol, record.timeframe, record.target_open_time)
        bucket = self._by_target.get(key)
        if bucket is None:
            self._by_target[key] = [record]
            heapq.heappush(self._deadlines, (record.expires_at, key))
        elif all(r.prediction_id != record.prediction_id for r in bucket):
            bucket.append(record)
            heapq.heappush(self._deadlines, (record.expires_at, key))

    def on_candle(self, candle: Candle, now: int) -> list[PredictionRecord]:
        """Resolve the predictions whose target is ``candle``; return them resolved."""
        bucket = self._by_target.pop((candle.symbol, candle.timeframe, candle.open_time), None)
        if not bucket:
            return []
        self.resolved += len(bucket)
        if len(self._deadlines) > 2 * len(self._by_target) + _SLACK:
            self._compact()
        return [r.resolve(candle, now, self.threshold) for r in bucket]

    def _compact(self) -> None:
        """Drop the deadlines of targets no longer held (a clock behind the candles, e.g. a
        simulator faster than real time, never reaches them: they would pile up forever)."""
        self._deadlines = [(d, k) for d, k in self._deadlines if k in self._by_target]
        heapq.heapify(self._deadlines)

    def expire(self, now: int) -> list[PredictionRecord]:
        """Expire every pending prediction whose deadline is before ``now``; return them."""
        out: list[PredictionRecord] = []
        while self._deadlines and self._deadlines[0][0] < now:
            _, key = heapq.heappop(self._deadlines)
            bucket = self._by_target.get(key)
            if not bucket:
                continue
            due = [r for r in bucket if r.expires_at < now]
            if len(due) == len(bucket):
                del self._by_target[key]
            else:
                self._by_target[key] = [r for r in bucket if r.expires_at >= now]
            out.extend(r.expire(now) for r in due)
        self.expired += len(out)
        return out

    def pending(self) -> list[PredictionRecord]:
        """Return the pending predictions, by target time."""
        rows = [r for bucket in self._by_target.values() for r in bucket]
        return sorted(rows, key=lambda r: (r.target_time, r.prediction_id))

    def recover(
        self, records: Iterable[PredictionRecord], store: CandleStore, now: int
    ) -> list[PredictionRecord]:
        """Take back pending rows after a restart; resolve those whose target was stored meanwhile.

        A target counts only if it closed by ``now``. Return the rows resolved or expired here;
        the rest stay pending.
        """
        changed: list[PredictionRecord] = []
        for r in records:
            self.add(r)
        keys = sorted(self._by_target)
        series = {(s, tf) for s, tf, _ in keys}
        for symbol, tf in sorted(series):
            times = [t for s, f, t in keys if (s, f) == (symbol, tf)]
            df = store.read(symbol, tf, min(times), max(times))
            for candle in candles_from_frame(symbol, tf, df):
                if candle.close_time <= now:
                    changed.extend(self.on_candle(candle, now))
        changed.extend(self.expire(now))
        return changed

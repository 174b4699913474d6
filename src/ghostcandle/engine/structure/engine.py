"""Market structure, live: indicators, pivots and rapid moves updated as candles close.

``StructureEngine.track(symbol, timeframe)`` subscribes to the series' ``CandleCompletionEvent``
(published by feeds or replay *after* the candle is stored). On each event it updates the
incremental state with that candle only, stores the indicator row and new pivots in one
transaction, then publishes a ``PivotEvent`` per confirmed pivot (highs first, by level, then
lows) and a ``RapidMoveEvent`` per detected move. On the first event of a series it warms up
from the stored candles that closed before the event's candle, and publishes nothing for them.
A repeated or older candle is ignored (counted in ``stale``), so replays are idempotent.
A replay may batch indicator rows (``flush_every``): pivots and moves are still stored before
they are published, and the batched rows are committed with their batch, not with a pivot.

Detected rapid moves are stored in ``rapid_moves`` with the pivots (warm-up ones too, as
history); given a ``SampleRegistry`` and a model's windows, each live one is also recorded as a
``rapid_move`` training sample in the same transaction (``engine.samples.rapid_move_samples``).

``compute_structure`` is the batch form over a whole candle batch; the look-ahead audit and the
CLI use it, and tests prove it equals the incremental result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ghostcandle.domain.candles import PRICE_COLUMNS
from ghostcandle.domain.events import (
    CandleCompletionEvent,
    Pivot,
    PivotEvent,
    RapidMoveEvent,
    candle_topic,
    pivot_topic,
    rapid_move_topic,
)
from ghostcandle.domain.indicators import INDICATOR_COLUMNS, IndicatorState, batch_indicators
from ghostcandle.domain.pivots import PivotConfig, PivotDetector, batch_pivots
from ghostcandle.domain.rapid_moves import RapidMoveConfig, RapidMoveDetector, batch_rapid_moves
from ghostcandle.domain.timeframes import check_timeframe, duration_ms
from ghostcandle.engine.samples.rapid_move_samples import rapid_move_sample
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.messaging.bus import MessageBus, Subscription
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.indicators import IndicatorStore
from ghostcandle.store.pivots import PivotStore
from ghostcandle.store.rapid_moves import RapidMoveStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StructureResult:
    """Everything computed over one candle batch: an indicator row per candle, pivots, moves."""

    open_time: NDArray[np.int64]
    indicators: NDArray[np.float64]
    pivots: list[Pivot]
    rapid_moves: list[RapidMoveEvent]


#: A batch computation: ``(symbol, timeframe, candles) -> StructureResult``.
StructureFn = Callable[[str, str, pd.DataFrame], StructureResult]


def compute_structure(
    symbol: str,
    timeframe: str,
    candles: pd.DataFrame,
    *,
    pivot_config: PivotConfig | None = None,
    rapid_config: RapidMoveConfig | None = None,
) -> StructureResult:
    """Compute indicators, pivots and rapid moves of a whole batch (oldest first)."""
    t = candles["open_time"].to_numpy(dtype=np.int64)
    o, h, lo, c = (candles[k].to_numpy(dtype=np.float64) for k in PRICE_COLUMNS)
    ct = t + duration_ms(timeframe)
    return StructureResult(
        t,
        batch_indicators(h, lo, c),
        batch_pivots(symbol, timeframe, t, h, lo, ct, pivot_config),
        batch_rapid_moves(symbol, timeframe, t, o, h, lo, c, ct, rapid_config),
    )


@dataclass
class SeriesState:
    """The incremental state of one series."""

    indicators: IndicatorState
    pivots: PivotDetector
    rapid: RapidMoveDetector
    last_open_time: int | None = None

    def update(
        self, open_time: int, o: float, h: float, lo: float, c: float, close_time: int
    ) -> tuple[tuple[float, ...], list[Pivot], list[RapidMoveEvent]]:
        """Take one closed candle; return its indicator row, new pivots and rapid moves."""
        self.last_open_time = open_time
        return (
            self.indicators.update(h, lo, c),
            self.pivots.update(open_time, h, lo, close_time),
            self.rapid.update(open_time, o, h, lo, c, close_time),
        )


@dataclass
class EngineStats:
    """Counters of one engine."""

    candles: int = 0
    warmed_up: int = 0
    stale: int = 0
    pivots: int = 0
    rapid_moves: int = 0
    per_series: dict[str, int] = field(default_factory=dict)


class StructureEngine:
    """Keep indicators, pivots and rapid moves of tracked series up to date (see module doc)."""

    def __init__(
        self,
        bus: MessageBus,
        db: Database,
        *,
        pivot_config: PivotConfig | None = None,
        rapid_config: RapidMoveConfig | None = None,
        flush_every: int = 1,
        samples: SampleRegistry | None = None,
        sample_windows: Mapping[str, int] | None = None,
        store_before_publish: bool = True,
    ) -> None:
        self.bus = bus
        # a DuckDB commit costs milliseconds: replays may batch indicator rows, but anything
        # about to be published is stored first (see ``on_candle``), unless no reader of the
        # bus reads the store (a backtest: ``store_before_publish=False`` stores pivots and
        # moves with the indicator rows, every ``flush_every`` candles and at ``close``)
        self.flush_every = max(1, flush_every)
        self.store_before_publish = store_before_publish
        self._pending: list[tuple[str, str, int, tuple[float, ...]]] = []
        self._pending_pivots: list[Pivot] = []
        self._pending_moves: list[RapidMoveEvent] = []
        # a move's sample needs a model's windows: recorded only when both are given
        self.samples = samples if sample_windows else None
        self.sample_windows = dict(sample_windows or {})
        self.candles = CandleStore(db)
        self.indicator_store = IndicatorStore(db)
        self.pivot_store = PivotStore(db)
        self.rapid_store = RapidMoveStore(db)
        self.db = db
        self.pivot_config = pivot_config or PivotConfig()
        self.rapid_config = rapid_config or RapidMoveConfig()
        self.stats = EngineStats()
        self._series: dict[tuple[str, str], SeriesState] = {}
        self._subs: list[Subscription] = []

    def collect_samples(
        self, samples: SampleRegistry | None, windows: Mapping[str, int] | None
    ) -> None:
        """Record each rapid move as a sample for a model reading ``windows`` (None: stop).

        A live session that learns sets it when it starts and clears it when it stops; moves
        already buffered are recorded with the windows in force when they are flushed.
        """
        self.samples, self.sample_windows = (samples, dict(windows)) if windows else (None, {})

    def track(self, symbol: str, timeframe: str) -> Subscription:
        """Follow the closed candles of one series; return the subscription (``cancel()``)."""
        check_timeframe(timeframe)
        sub = self.bus.subscribe(
            candle_topic(symbol, timeframe), self.on_candle, name=f"structure:{symbol}:{timeframe}"
        )
        self._subs.append(sub)
        return sub

    def flush(self, *, indicators: bool = True) -> None:
        """Store the buffered indicator rows, pivots and rapid moves in one transaction.

        ``indicators=False`` stores the pivots and moves only (the indicator rows stay buffered
        for the next full flush): what is about to be published, and nothing more.
        """
        rows_due = self._pending if indicators else []
        if not rows_due and not self._pending_pivots and not self._pending_moves:
            return
        groups: dict[tuple[str, str], list[tuple[int, tuple[float, ...]]]] = {}
        for symbol, tf, t, row in rows_due:
            groups.setdefault((symbol, tf), []).append((t, row))
        with self.db.transaction() as con:
            for (symbol, tf), rows in groups.items():
                self.indicator_store.write_in(
                    con,
                    symbol,
                    tf,
                    np.array([r[0] for r in rows], dtype=np.int64),
                    np.array([r[1] for r in rows], dtype=np.float64),
                )
            self.pivot_store.write_in(con, self._pending_pivots)
            self.rapid_store.write_in(con, self._pending_moves)
            if self.samples is not None:
                for m in self._pending_moves:
                    sample = rapid_move_sample(m, self.sample_windows)
                    self.samples.record_in(con, [sample], at=m.detected_at)
        if indicators:
            self._pending.clear()
        self._pending_pivots.clear()
        self._pending_moves.clear()

    def close(self) -> None:
        """Store what is buffered and stop following every series."""
        self.flush()
        for sub in self._subs:
            sub.cancel()
        self._subs.clear()

    def _new_state(self, symbol: str, timeframe: str) -> SeriesState:
        return SeriesState(
            IndicatorState(),
            PivotDetector(symbol, timeframe, self.pivot_config),
            RapidMoveDetector(symbol, timeframe, self.rapid_config),
        )

    def _warm_up(self, symbol: str, timeframe: str, before_open_time: int) -> SeriesState:
        """Build the state from stored candles that opened before ``before_open_time``."""
        state = self._new_state(symbol, timeframe)
        history = self.candles.read(symbol, timeframe, end=before_open_time - 1)
        if len(history) == 0:
            return state
        d = duration_ms(timeframe)
        rows: list[tuple[float, ...]] = []
        pivots: list[Pivot] = []
        moves: list[RapidMoveEvent] = []
        cols = [history[k].to_numpy() for k in ("open_time", *PRICE_COLUMNS)]
        for t, o, h, lo, c in zip(*(col.tolist() for col in cols), strict=True):
            row, new_pivots, new_moves = state.update(t, o, h, lo, c, t + d)
            rows.append(row)
            pivots.extend(new_pivots)
            moves.extend(new_moves)
        with self.db.transaction() as con:
            self.indicator_store.write_in(con, symbol, timeframe, cols[0], np.array(rows))
            self.pivot_store.write_in(con, pivots)
            self.rapid_store.write_in(con, moves)  # history: stored, not published nor sampled
        self.stats.warmed_up += len(history)
        return state

    def on_candle(self, event: CandleCompletionEvent) -> None:
        """Update the series with the event's candle, store the results, publish the events."""
        candle = event.candle
        key = (event.symbol, event.timeframe)
        state = self._series.get(key)
        if state is None:
            state = self._warm_up(event.symbol, event.timeframe, candle.open_time)
            self._series[key] = state
        if state.last_open_time is not None and candle.open_time <= state.last_open_time:
            self.stats.stale += 1
            return
        row, pivots, moves = state.update(
            candle.open_time, candle.open, candle.high, candle.low, candle.close, candle.close_time
        )
        self._pending.append((event.symbol, event.timeframe, candle.open_time, row))
        self._pending_pivots.extend(pivots)
        self._pending_moves.extend(moves)
        full = len(self._pending) >= self.flush_every
        if full or ((pivots or moves) and self.store_before_publish):
            # pivots and moves are stored before they are published; batched indicator rows
            # wait for their batch (a pivot's commit need not carry them)
            self.flush(indicators=full)
        self.stats.candles += 1
        self.stats.pivots += len(pivots)
        self.stats.rapid_moves += len(moves)
        label = f"{event.symbol}.{event.timeframe}"
        self.stats.per_series[label] = self.stats.per_series.get(label, 0) + 1
        ptopic = pivot_topic(event.symbol, event.timeframe)
        for p in pivots:
            self.bus.publish(ptopic, PivotEvent(event.symbol, event.timeframe, p))
        mtopic = rapid_move_topic(event.symbol, event.timeframe)
        for m in moves:
            self.bus.publish(mtopic, m)


__all__ = [
    "INDICATOR_COLUMNS",
    "EngineStats",
    "SeriesState",
    "StructureEngine",
    "StructureFn",
    "StructureResult",
    "compute_structure",
]

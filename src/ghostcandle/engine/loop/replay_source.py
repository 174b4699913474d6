"""Stored candles as the loop sees them live: ``CandleCompletionEvent``s in replay order.

Events of every timeframe come in close-time order (at equal close time, finest timeframe
first, then symbols in the given order), so a replay is deterministic. Candles are read in
chunks, so memory stays flat however long the range.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ghostcandle.domain.candles import candles_from_frame
from ghostcandle.domain.events import CandleCompletionEvent
from ghostcandle.domain.timeframes import HOUR_MS, duration_ms
from ghostcandle.engine.loop.config import finest_first
from ghostcandle.store.candles import CandleStore


def replay_events(
    store: CandleStore,
    symbols: Sequence[str],
    timeframes: Sequence[str],
    start: int,
    end: int,
    *,
    chunk_ms: int = 6 * HOUR_MS,
) -> Iterator[CandleCompletionEvent]:
    """Yield the stored candles closing in ``(start, end]`` as events, in replay order."""
    tfs = finest_first(timeframes)
    rank = {tf: i for i, tf in enumerate(tfs)}
    order = {s: i for i, s in enumerate(symbols)}
    a = start
    while a < end:
        b = min(a + chunk_ms, end)
        batch: list[CandleCompletionEvent] = []
        for symbol in symbols:
            for tf in tfs:
                d = duration_ms(tf)
                df = store.read(symbol, tf, a - d + 1, b - d)
                batch.extend(
                    CandleCompletionEvent(symbol, tf, c) for c in candles_from_frame(symbol, tf, df)
                )
        batch.sort(key=lambda e: (e.candle.close_time, rank[e.timeframe], order[e.symbol]))
        yield from batch
        a = b

"""Keep higher timeframes rolled up from the lower stored ones (1s -> 1m -> 1h -> 1d)."""

from __future__ import annotations

import duckdb

from ghostcandle.domain.aggregation import rollup
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.timeframes import duration_ms, higher_timeframes
from ghostcandle.store.candles import CandleStore, WriteResult


def rollup_range(
    store: CandleStore,
    con: duckdb.DuckDBPyConnection,
    symbol: str,
    from_tf: str,
    start: int,
    end: int,
) -> dict[str, WriteResult]:
    """Recompute the buckets of every higher timeframe touched by ``[start, end]`` of ``from_tf``.

    Only buckets whose period has ended (by the newest stored ``from_tf`` candle) are written:
    a still-forming bucket is never stored as closed. Buckets with missing parts are stored
    flagged incomplete, and completed later when the parts arrive.
    """
    results: dict[str, WriteResult] = {}
    source_tf = from_tf
    for target_tf in higher_timeframes(from_tf):
        big = duration_ms(target_tf)
        lo, hi = start - start % big, end - end % big + big - 1
        src = con.execute(
            "SELECT open_time, open, high, low, close, volume FROM candles "
            "WHERE symbol = ? AND timeframe = ? AND open_time BETWEEN ? AND ? ORDER BY open_time",
            [symbol, source_tf, lo, hi],
        ).df()
        if src.empty:
            break
        last_close = int(src["open_time"].iloc[-1]) + duration_ms(source_tf)
        buckets = rollup(src, source_tf, target_tf)
        closed = buckets[buckets["open_time"] + big <= last_close]
        results[target_tf] = store.write_in(
            con,
            symbol,
            target_tf,
            closed,
            provenance=CandleSource.ROLLUP,
            source=f"rollup:{source_tf}",
        )
        if closed.empty:
            break
        start, end = int(closed["open_time"].iloc[0]), int(closed["open_time"].iloc[-1])
        source_tf = target_tf
    return results

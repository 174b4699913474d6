"""The training batches' candle cache reads only what is new, and never less than the store."""

from __future__ import annotations

import numpy as np

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.training.batches import SeriesCache
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

from .conftest import SYM, T0


def _store(store: CandleStore, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    df = store.read(SYM, "1m", lo, hi)
    return df["open_time"].to_numpy(), df[list(VALUE_COLUMNS)].to_numpy()


def test_cache_extends_by_new_candles_and_equals_the_store(market: Database) -> None:
    store = CandleStore(market)
    cache = SeriesCache(store)
    lo, hi = T0 + 100 * MINUTE_MS, T0 + 300 * MINUTE_MS
    for step in range(5):
        a, b = lo + step * 7 * MINUTE_MS, hi + step * 3 * MINUTE_MS
        t, v = cache.read(SYM, "1m", a, b)
        et, ev = _store(store, a, b)
        assert np.array_equal(t, et)
        assert np.array_equal(v, ev)
    assert cache.reads == 5  # one full read, then only the newer candles each time
    t, _ = cache.read(SYM, "1m", lo - MINUTE_MS, hi)  # older than cached: a full read again
    assert cache.reads == 6
    assert t[0] == lo - MINUTE_MS


def test_candles_stored_after_a_read_are_found_next_time(db: Database) -> None:
    store = CandleStore(db)
    df = synthetic_candles(60, "1m", start_ms=T0, seed=2)
    store.write(SYM, "1m", df.iloc[:40], provenance=CandleSource.FILE)
    cache = SeriesCache(store)
    t, _ = cache.read(SYM, "1m", T0, T0 + 59 * MINUTE_MS)
    assert len(t) == 40
    store.write(
        SYM, "1m", df.iloc[40:], provenance=CandleSource.FILE
    )  # the feed stores the rest later
    t, v = cache.read(SYM, "1m", T0, T0 + 59 * MINUTE_MS)
    et, ev = _store(store, T0, T0 + 59 * MINUTE_MS)
    assert len(t) == 60
    assert np.array_equal(t, et)
    assert np.array_equal(v, ev)

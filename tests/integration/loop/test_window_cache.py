"""The loop's window cache hands every model of a tick one window, new at each candle.

Between two candles of a series the same read-only window (its hash and normalisation computed
once) is handed out; a new candle makes a new one, equal to the store's window of that spec.
The inputs, normalised once per window for every model (``WindowCache.prepared``), are the bits of
``prepare_inputs`` of the same windows.
"""

from __future__ import annotations

import numpy as np
import pytest

from ghostcandle.domain.candles import candles_from_frame
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.domain.window import WindowSpec
from ghostcandle.engine.loop.window_cache import open_cache
from ghostcandle.models.inputs import prepare_inputs, prepare_window
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

from .conftest import START, SYM


def test_a_window_lasts_until_its_series_changes_and_equals_the_store(market: Database) -> None:
    store = CandleStore(market)
    cache = open_cache(store, [SYM], {"1m": 50, "1h": 12}, START)
    later = store.read(SYM, "1m", START, START + 5 * MINUTE_MS - 1)
    for candle in candles_from_frame(SYM, "1m", later):
        before = cache.window(SYM, "1m", 50)
        assert cache.window(SYM, "1m", 50) is before  # the same object until the next candle
        with pytest.raises(ValueError, match="read-only"):
            before.values[0, 0] = 0.0  # read-only: every model of the tick shares it
        hourly = cache.window(SYM, "1h", 12)
        cache.on_candle(candle)
        after = cache.window(SYM, "1m", 50)
        assert after is not before
        assert after.spec.end_open_time == candle.open_time
        stored = store.window(SYM, WindowSpec("1m", candle.open_time, 50))
        assert np.array_equal(after.values, stored.values)
        assert after.content_hash() == stored.content_hash()
        assert cache.window(SYM, "1h", 12) is hourly  # another series: unchanged


def test_a_window_normalised_alone_is_the_bits_of_prepare_inputs(market: Database) -> None:
    store = CandleStore(market)
    cache = open_cache(store, [SYM], {"1m": 50, "1h": 12}, START)
    windows = [cache.window(SYM, "1m", 50), cache.window(SYM, "1h", 12)]
    batch, params = prepare_inputs(
        [{w.spec.timeframe: w.values for w in windows}], {"1m": 50, "1h": 12}
    )
    merged: dict[str, float] = {}
    for w in windows:
        alone, p = prepare_window(w.spec.timeframe, w.values)
        assert alone.tobytes() == batch.windows[w.spec.timeframe].tobytes()
        merged.update(p)
    assert merged == params[0]


def test_a_windows_input_is_prepared_once_per_candle_for_every_model(market: Database) -> None:
    store = CandleStore(market)
    cache = open_cache(store, [SYM], {"1m": 50}, START)
    first = cache.window(SYM, "1m", 50)
    held, params = cache.prepared(first)
    assert cache.prepared(cache.window(SYM, "1m", 50))[0] is held  # a second model: no work
    alone, p = prepare_window("1m", first.values)
    assert held.tobytes() == alone.tobytes()
    assert params == p
    nxt = store.read(SYM, "1m", START, START + MINUTE_MS - 1)
    cache.on_candle(next(iter(candles_from_frame(SYM, "1m", nxt))))
    after = cache.window(SYM, "1m", 50)
    renewed, _ = cache.prepared(after)
    assert renewed is not held
    assert renewed.tobytes() == prepare_window("1m", after.values)[0].tobytes()
    assert renewed.tobytes() != held.tobytes()

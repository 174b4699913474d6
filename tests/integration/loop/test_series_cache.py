"""The training batches' candle cache reads only what is new, and never less than the store."""

from __future__ import annotations

import numpy as np

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import VALUE_COLUMNS, candles_from_frame
from ghostcandle.domain.frames import FrameRef, frame_hash, make_frame_id
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.domain.window import WindowSpec
from ghostcandle.engine.training.batches import build_batch
from ghostcandle.engine.training.policy import TrainingSample
from ghostcandle.engine.training.series_cache import SeriesCache
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore

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
    t, _ = cache.read(SYM, "1m", lo - MINUTE_MS, hi)  # older than cached: only those are read
    assert cache.reads == 6
    assert t[0] == lo - MINUTE_MS
    # what was cached stays: a batch of newer samples, then one with older ones, read nothing
    for a, b in ((lo + 50 * MINUTE_MS, hi + 12 * MINUTE_MS), (lo, hi)):
        t, v = cache.read(SYM, "1m", a, b)
        et, ev = _store(store, a, b)
        assert np.array_equal(t, et)
        assert np.array_equal(v, ev)
    assert cache.reads == 6


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


def _frame(store: CandleStore, end: int, length: int = 30) -> FrameRef:
    spec = WindowSpec("1m", end, length)
    decision = end + MINUTE_MS
    return FrameRef(
        frame_id=make_frame_id("test", SYM, decision, (spec,)),
        model="test",
        model_version="1",
        symbol=SYM,
        decision_time=decision,
        windows=(spec,),
        input_hash=frame_hash([store.window(SYM, spec)]),
        target_time=decision + MINUTE_MS,
    )


def test_a_cache_extended_by_event_candles_builds_the_store_batch_bit_for_bit(
    market: Database,
) -> None:
    # a session hands the builder its events' candles: the newest candles of a batch (windows
    # and targets) then come from memory, and the batch is the one read from the store
    store, frames = CandleStore(market), FrameStore(market, CandleStore(market))
    day = store.read(SYM, "1m", T0, T0 + 400 * MINUTE_MS)
    events = {c.open_time: c for c in candles_from_frame(SYM, "1m", day)}
    fed = SeriesCache(store)
    fed.read(SYM, "1m", T0, T0 + 100 * MINUTE_MS)
    gap = T0 + 300 * MINUTE_MS
    assert not fed.extend(events[gap])  # not right after what is cached: left to a read
    for k in range(101, 200):
        assert fed.extend(events[T0 + k * MINUTE_MS])
    reads = fed.reads
    windows, tfs = {"1m": 30}, ["1m"]
    samples = [
        TrainingSample(_frame(store, T0 + e * MINUTE_MS), "1m", e % 3, TrainingSource.CANDLE)
        for e in (120, 150, 196, 197)
    ]
    now = T0 + 200 * MINUTE_MS  # the newest sample's target closed at now
    got = build_batch(frames, samples, windows, tfs, now, fed)
    assert fed.reads == reads  # every candle came from memory
    expected = build_batch(frames, samples, windows, tfs, now, SeriesCache(store))
    assert got is not None
    assert expected is not None
    assert got.frame_ids == expected.frame_ids
    assert got.dropped == expected.dropped == 0
    for tf in windows:
        assert np.array_equal(got.batch.inputs.windows[tf], expected.batch.inputs.windows[tf])
    assert got.batch.targets.keys() == expected.batch.targets.keys() == {"1m"}
    assert not np.isnan(expected.batch.targets["1m"]).any()  # every target read, the newest too
    for tf, target in expected.batch.targets.items():
        assert np.array_equal(got.batch.targets[tf], target, equal_nan=True)
    assert np.array_equal(got.batch.actions, expected.batch.actions)
    # past the cached candles a batch reads the store again, exactly as before
    t, v = fed.read(SYM, "1m", T0 + 150 * MINUTE_MS, T0 + 260 * MINUTE_MS)
    et, ev = _store(store, T0 + 150 * MINUTE_MS, T0 + 260 * MINUTE_MS)
    assert fed.reads == reads + 1
    assert np.array_equal(t, et)
    assert np.array_equal(v, ev)


def test_the_cache_keeps_at_most_keep_candles_beyond_those_asked_for(market: Database) -> None:
    store = CandleStore(market)
    cache = SeriesCache(store)
    cache.KEEP = 50
    lo = T0 + 100 * MINUTE_MS
    cache.read(SYM, "1m", lo, lo + 99 * MINUTE_MS)
    t, v = cache.read(SYM, "1m", lo + 90 * MINUTE_MS, lo + 199 * MINUTE_MS)  # 110 asked: all kept
    et, ev = _store(store, lo + 90 * MINUTE_MS, lo + 199 * MINUTE_MS)
    assert np.array_equal(t, et)
    assert np.array_equal(v, ev)
    reads = cache.reads
    t, _ = cache.read(SYM, "1m", lo + 150 * MINUTE_MS, lo + 199 * MINUTE_MS)
    assert len(t) == 50
    assert cache.reads == reads  # cached
    cache.read(SYM, "1m", lo, lo + 10 * MINUTE_MS)  # dropped as the oldest: read again
    assert cache.reads == reads + 1


def test_events_extend_the_cache_in_place_and_never_change_a_read_handed_out(
    market: Database,
) -> None:
    # a live session extends the cache by every candle (30 a second at 30x): each used to copy
    # the whole series; now only a full array is copied, keeping the newest KEEP with room again
    store = CandleStore(market)
    day = store.read(SYM, "1m", T0, T0 + 600 * MINUTE_MS)
    events = candles_from_frame(SYM, "1m", day)
    cache = SeriesCache(store)
    cache.KEEP = 40
    cache.read(SYM, "1m", T0, T0 + 9 * MINUTE_MS)
    held = []
    for k, c in enumerate(events[10:510], start=10):
        assert cache.extend(c)
        if k % 37 == 0:  # a batch reads the newest 20 now and then
            t, v = cache.read(SYM, "1m", c.open_time - 19 * MINUTE_MS, c.open_time)
            held.append((t, v, t.copy(), v.copy()))
    assert cache.reads == 1  # every candle came from the events
    assert len(held) >= 10
    assert 1 <= cache.copies <= 500 // cache.KEEP + 1  # was a copy per candle
    for t, v, t0, v0 in held:  # what reads handed out is as it was
        assert np.array_equal(t, t0)
        assert np.array_equal(v, v0)
    a, b = T0 + 470 * MINUTE_MS, T0 + 509 * MINUTE_MS
    t, v = cache.read(SYM, "1m", a, b)
    et, ev = _store(store, a, b)
    assert cache.reads == 1
    assert np.array_equal(t, et)
    assert np.array_equal(v, ev)

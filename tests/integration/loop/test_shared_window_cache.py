"""Sessions handed the same events over one database share one window cache; no window runs ahead.

Each series is loaded, extended and normalised once for all of them; what each session
predicts is what it predicts on a bus of its own. A series is kept while a session tracks it:
one session stopping leaves the others' series, and once none tracks it a session started later
loads it afresh from the store (never a window left behind when the last user stopped). A
session needing a longer window than the one shared gets one, and the others' windows stay
the store's, ending where they ended. A decision reads no candle closed after its time, even
where the cache knows one (a session that started while its bus was behind).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.frames import frame_hash
from ghostcandle.domain.timeframes import HOUR_MS, MINUTE_MS
from ghostcandle.domain.window import WindowSpec
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.predictor import decision_inputs
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.loop.window_cache import WindowCache, close_cache, open_cache
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

from .conftest import START, SYM, small_config

Key = tuple[str, str, str, str, int]


def _start(
    db: Database, cfg: SessionConfig, bus: MessageBus, clock: ReplayClock, ckpt: str
) -> LoopSession:
    return LoopSession(db, cfg, bus, clock, checkpoint_dir=ckpt).start()


def _cache(session: LoopSession) -> WindowCache:
    cache = session._predicting.cache
    assert cache is not None
    return cache


def _play(db: Database, bus: MessageBus, clock: ReplayClock, start: int, end: int) -> None:
    for ev in replay_events(CandleStore(db), [SYM], ["1m", "1h"], start, end):
        clock.advance_to(ev.time)
        bus.publish(candle_topic(ev.symbol, ev.timeframe), ev)


def _made(session: LoopSession) -> dict[Key, tuple[object, ...]]:
    """Return what the session predicted, by its learner, the model and the decision."""
    rows = session.recent_predictions(limit=10_000)
    learner = session.config.model
    return {
        (learner, r.model, r.symbol, r.timeframe, r.decision_time): (
            r.model_version,
            r.ref_close,
            r.pred_open,
            r.pred_high,
            r.pred_low,
            r.pred_close,
            r.pred_volume,
            r.p_hold,
            r.p_buy,
            r.p_sell,
            r.action,
        )
        for r in rows
    }


def test_sessions_on_one_bus_share_a_cache_and_predict_what_they_predict_alone(
    market: Database, ckpt_dir: str
) -> None:
    end = START + HOUR_MS
    bus, clock = MessageBus(), ReplayClock(START)
    a = _start(market, small_config("sh-cnn", "cnn"), bus, clock, ckpt_dir)
    b = _start(market, small_config("sh-tf", "transformer"), bus, clock, ckpt_dir)
    shared = _cache(a)
    assert _cache(b) is shared
    assert set(shared.tracked().values()) == {2}  # every series: both sessions
    _play(market, bus, clock, START, end)
    together = {**_made(a), **_made(b)}
    a.stop()
    b.stop()
    alone: dict[Key, tuple[object, ...]] = {}
    for sid, model in (("al-cnn", "cnn"), ("al-tf", "transformer")):
        own_bus, own_clock = MessageBus(), ReplayClock(START)
        s = _start(market, small_config(sid, model), own_bus, own_clock, ckpt_dir)
        assert _cache(s) is not shared  # another bus: a cache of its own
        _play(market, own_bus, own_clock, START, end)
        alone.update(_made(s))
        s.stop()
    # the learners and every baseline of both sessions, each decision of the hour
    assert len(together) >= 2 * 5 * 55
    assert together == alone


def test_a_series_lives_while_a_session_tracks_it_and_is_loaded_afresh_after(
    market: Database, ckpt_dir: str
) -> None:
    bus, clock = MessageBus(), ReplayClock(START)
    a = _start(market, small_config("life-a"), bus, clock, ckpt_dir)
    b = _start(market, small_config("life-b"), bus, clock, ckpt_dir)
    cache = _cache(a)
    _play(market, bus, clock, START, START + 30 * MINUTE_MS)
    a.stop()
    assert set(cache.tracked().values()) == {1}  # b's still, extended by its events alone
    _play(market, bus, clock, START + 30 * MINUTE_MS, START + 40 * MINUTE_MS)
    assert cache.last_open_time(SYM, "1m") == START + 39 * MINUTE_MS
    b.stop()
    assert cache.tracked() == {}
    # no session ran meanwhile: a later one reads the store's newest candles, not the old ones
    clock.advance_to(START + 2 * HOUR_MS)
    c = _start(market, small_config("life-c"), bus, clock, ckpt_dir)
    try:
        assert _cache(c) is cache
        assert cache.last_open_time(SYM, "1m") == START + 2 * HOUR_MS - MINUTE_MS
    finally:
        c.stop()


def test_a_session_needing_a_longer_window_gets_one_and_the_others_stay_the_stores(
    market: Database, ckpt_dir: str
) -> None:
    bus, clock = MessageBus(), ReplayClock(START)
    short = _start(market, small_config("len-short"), bus, clock, ckpt_dir)
    long_cfg = dataclasses.replace(
        small_config("len-long"),
        model_config={"timeframes": ["1m", "1h"], "windows": {"1m": 90, "1h": 6}, "seed": 1},
    )
    long = _start(market, long_cfg, bus, clock, ckpt_dir)
    try:
        cache, store = _cache(short), CandleStore(market)
        assert _cache(long) is cache
        _play(market, bus, clock, START, START + 20 * MINUTE_MS)
        last = START + 19 * MINUTE_MS
        for n in (20, 90):
            w = cache.window(SYM, "1m", n)
            stored = store.window(SYM, WindowSpec("1m", last, n))
            assert np.array_equal(w.values, stored.values)
            assert w.content_hash() == stored.content_hash()
        assert len(_made(short)) > 0
        assert len(_made(long)) > 0
    finally:
        short.stop()
        long.stop()
    assert cache.tracked() == {}


def test_a_series_reloaded_longer_knows_no_candle_its_sessions_were_not_handed(
    market: Database,
) -> None:
    # the bus is behind: candles are stored up to an hour later than the events handed out;
    # a session joining with a longer window must not show the others those candles early
    store, source = CandleStore(market), MessageBus()
    cache = open_cache(store, [SYM], {"1m": 20}, START, shared_by=source)
    handed = START - MINUTE_MS  # the newest 1m candle whose event came: closes at START
    assert cache.last_open_time(SYM, "1m") == handed
    later = open_cache(store, [SYM], {"1m": 90}, START + HOUR_MS, shared_by=source)
    assert later is cache
    assert cache.tracked() == {(SYM, "1m"): 2}
    assert cache.last_open_time(SYM, "1m") == handed
    w = cache.window(SYM, "1m", 90)
    assert np.array_equal(w.values, store.window(SYM, WindowSpec("1m", handed, 90)).values)
    close_cache(cache, [SYM], {"1m": 20})
    close_cache(cache, [SYM], {"1m": 90})
    assert cache.tracked() == {}


@pytest.mark.parametrize("behind_min", [5, 20])
def test_a_decision_reads_no_candle_closed_after_it_whatever_the_cache_knows(
    market: Database, behind_min: int
) -> None:
    # a session started while its bus was behind: its cache was loaded from the store up to
    # now, while the events still to come are older; a decision at one of them reads only
    # candles closed by its time, in every timeframe (cut from the series where it reaches
    # back far enough: 5 minutes; else read from the store: 20)
    store = CandleStore(market)
    now = START + 30 * MINUTE_MS
    cache = open_cache(store, [SYM], {"1m": 20, "1h": 6}, now)
    t = now - behind_min * MINUTE_MS  # a queued 1m candle's close
    lengths = {"1m": 12, "1h": 6}
    seen = decision_inputs(cache, SYM, "1m", t, lengths)
    assert seen.specs == (WindowSpec("1m", t - MINUTE_MS, 12), WindowSpec("1h", START - HOUR_MS, 6))
    stored = [store.window(SYM, spec) for spec in seen.specs]
    assert seen.input_hash == frame_hash(stored)
    assert seen.ref_close == float(stored[0].values[-1, 3])
    # the cache's own newest windows are untouched
    assert cache.window(SYM, "1m", 12).spec.end_open_time == now - MINUTE_MS

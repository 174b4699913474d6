"""Rapid moves are kept: stored as events (warm-up ones too) and, given windows, as samples."""

from __future__ import annotations

import pandas as pd

from ghostcandle.domain.actions import Action
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import candles_from_frame
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import CandleCompletionEvent, candle_topic
from ghostcandle.domain.rapid_moves import RapidMoveConfig
from ghostcandle.domain.samples import SampleSource, SampleStatus
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.engine.structure.engine import StructureEngine, compute_structure
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.rapid_moves import RapidMoveStore

SYM, TF = "ETH/USDT", "1m"
RAPID = RapidMoveConfig(velocity_threshold=0.15, spike_ratio=3.0, baseline_window=20)
T0 = 1_700_000_040_000 // 60_000 * 60_000
WARM = 120


def _replay(db: Database, df: pd.DataFrame, registry: SampleRegistry | None) -> StructureEngine:
    store = CandleStore(db)
    store.write(SYM, TF, df.iloc[:WARM], provenance=CandleSource.FILE)
    bus = MessageBus()
    engine = StructureEngine(
        bus, db, rapid_config=RAPID, samples=registry, sample_windows={"1m": 30}
    )
    engine.track(SYM, TF)
    for i, candle in enumerate(candles_from_frame(SYM, TF, df.iloc[WARM:]), start=WARM):
        store.write(SYM, TF, df.iloc[i : i + 1], provenance=CandleSource.WEBSOCKET)
        bus.publish(candle_topic(SYM, TF), CandleCompletionEvent(SYM, TF, candle))
    engine.close()
    return engine


def test_every_detected_move_is_stored_and_each_live_one_is_a_sample(db: Database) -> None:
    market = synthetic_candles(360, TF, start_ms=T0, seed=11)
    full = compute_structure(SYM, TF, market, rapid_config=RAPID)
    registry = SampleRegistry(db, ReplayClock(T0))
    _replay(db, market, registry)
    assert RapidMoveStore(db).read(SYM, TF) == sorted(
        full.rapid_moves, key=lambda m: (m.detected_at, m.kind)
    )
    warm_end = T0 + WARM * 60_000
    live = [m for m in full.rapid_moves if m.detected_at > warm_end]
    assert live, "the seeded market should move fast after the warm-up"
    samples = registry.store.get(registry.store.ids(source=SampleSource.RAPID_MOVE))
    by_origin = {s.origin: s for s in samples}
    assert len(by_origin) == len(samples) == len(live)
    for move in live:
        s = by_origin[f"{move.kind}:{TF}:{move.open_time}"]
        # the frame ends at the candle before the move, known when the move began
        assert s.frame.decision_time == move.open_time
        assert s.frame.windows[0].end_open_time == move.open_time - 60_000
        assert s.frame.target_time == move.detected_at
        assert s.created_at == move.detected_at
        want = Action.BUY if move.direction > 0 else Action.SELL
        assert s.label == int(want)
        assert s.status is SampleStatus.OK
        assert sum(s.quality.provenance.values()) == 30


def test_without_windows_moves_are_stored_but_no_sample_is_made(db: Database) -> None:
    market = synthetic_candles(360, TF, start_ms=T0, seed=11)
    registry = SampleRegistry(db, ReplayClock(T0))
    store = CandleStore(db)
    store.write(SYM, TF, market.iloc[:WARM], provenance=CandleSource.FILE)
    engine = StructureEngine(MessageBus(), db, rapid_config=RAPID, samples=registry)
    assert engine.samples is None
    engine.close()
    assert registry.store.count() == 0


def test_a_live_session_collects_move_samples_only_while_it_learns(db: Database) -> None:
    market = synthetic_candles(360, TF, start_ms=T0, seed=11)
    full = compute_structure(SYM, TF, market, rapid_config=RAPID)
    live = sorted(m.open_time for m in full.rapid_moves if m.detected_at > T0 + WARM * 60_000)
    assert len(live) >= 2, "the seeded market should move fast twice after the warm-up"
    cut = live[len(live) // 2]  # the session stops at the candle of this move
    store = CandleStore(db)
    store.write(SYM, TF, market.iloc[:WARM], provenance=CandleSource.FILE)
    bus = MessageBus()
    engine = StructureEngine(bus, db, rapid_config=RAPID)  # the runtime's: made before a session
    engine.track(SYM, TF)
    registry = SampleRegistry(db, ReplayClock(T0))
    engine.collect_samples(registry, {"1m": 30})  # a learning session starts
    for i, candle in enumerate(candles_from_frame(SYM, TF, market.iloc[WARM:]), start=WARM):
        if candle.open_time == cut:
            engine.flush()
            engine.collect_samples(None, None)  # it stops
        store.write(SYM, TF, market.iloc[i : i + 1], provenance=CandleSource.WEBSOCKET)
        bus.publish(candle_topic(SYM, TF), CandleCompletionEvent(SYM, TF, candle))
    engine.close()
    samples = registry.store.get(registry.store.ids(source=SampleSource.RAPID_MOVE))
    assert sorted(s.frame.decision_time for s in samples) == [t for t in live if t < cut]

"""The structure engine on a real DuckDB file and the in-order bus, through the facade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import candles_from_frame
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import CandleCompletionEvent, PivotEvent, candle_topic
from ghostcandle.domain.rapid_moves import RapidMoveConfig
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.structure.data_provider import DataProvider
from ghostcandle.engine.structure.engine import StructureEngine, compute_structure
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.indicators import IndicatorStore
from ghostcandle.store.pivots import PivotStore

SYM, TF = "ETH/USDT", "1m"
RAPID = RapidMoveConfig(velocity_threshold=0.15, spike_ratio=3.0, baseline_window=20)


def _replay(db: Database, df: pd.DataFrame, warm: int) -> tuple[list[tuple[str, Any]], Any]:
    """Store ``warm`` candles, then store-and-publish the rest one by one, as a feed does."""
    store = CandleStore(db)
    store.write(SYM, TF, df.iloc[:warm], provenance=CandleSource.FILE)
    bus = MessageBus()
    engine = StructureEngine(bus, db, rapid_config=RAPID)
    engine.track(SYM, TF)
    seen: list[tuple[str, Any]] = []
    bus.subscribe("*", lambda m: seen.append((type(m).__name__, m)), name="recorder")
    for i, candle in enumerate(candles_from_frame(SYM, TF, df.iloc[warm:]), start=warm):
        store.write(SYM, TF, df.iloc[i : i + 1], provenance=CandleSource.FILE)
        bus.publish(candle_topic(SYM, TF), CandleCompletionEvent(SYM, TF, candle))
    engine.close()
    return seen, engine


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    return synthetic_candles(360, TF, start_ms=1_700_000_040_000 // 60_000 * 60_000, seed=11)


def test_engine_stores_and_publishes_exactly_the_batch_result(
    db: Database, market: pd.DataFrame
) -> None:
    warm = 120
    seen, engine = _replay(db, market, warm)
    full = compute_structure(SYM, TF, market, rapid_config=RAPID)
    assert engine.stats.warmed_up == warm
    assert engine.stats.candles == len(market) - warm
    # stored: every pivot of the batch run, warm-up included
    assert PivotStore(db).read(SYM, TF) == full.pivots
    stored = IndicatorStore(db).read(SYM, TF)
    assert stored["open_time"].tolist() == market["open_time"].tolist()
    ind = stored.drop(columns="open_time").to_numpy()
    assert (np.isnan(ind) == np.isnan(full.indicators)).all()
    scale = market["close"].to_numpy()[:, None]
    assert np.nanmax(np.abs(ind - full.indicators) / scale) <= 1e-12
    # published: exactly the pivots and moves confirmed after the warm-up, in batch order
    warm_end = int(market["open_time"].iloc[warm - 1]) + 60_000
    pivots = [m.pivot for k, m in seen if k == "PivotEvent"]
    assert pivots == [p for p in full.pivots if p.confirmed_at > warm_end]
    assert len(pivots) > 20
    moves = [m for k, m in seen if k == "RapidMoveEvent"]
    assert moves == [e for e in full.rapid_moves if e.detected_at > warm_end]
    assert moves
    # each pivot event comes right after the candle that confirmed it
    last_candle_time = 0
    for kind, msg in seen:
        if kind == "CandleCompletionEvent":
            last_candle_time = msg.time
        else:
            assert msg.time == last_candle_time


def test_replay_order_is_deterministic(tmp_path: Path, market: pd.DataFrame) -> None:
    runs = []
    for name in ("a", "b"):
        with Database(tmp_path / f"{name}.duckdb") as db:
            seen, _ = _replay(db, market.iloc[:150], 60)
            runs.append(seen)
    assert runs[0] == runs[1]
    assert len(runs[0]) > 90


def test_failing_subscriber_harms_no_one_and_unsubscribe_works(
    db: Database, market: pd.DataFrame
) -> None:
    bus = MessageBus()
    engine = StructureEngine(bus, db, flush_every=10)
    engine.track(SYM, TF)
    provider = DataProvider(bus)
    good: list[PivotEvent] = []
    highs: list[PivotEvent] = []
    candles: list[CandleCompletionEvent] = []

    def broken(event: PivotEvent) -> None:
        raise RuntimeError("subscriber bug")

    provider.subscribe_pivot_events(broken, SYM, TF)
    provider.subscribe_pivot_events(good.append, SYM, TF)
    provider.subscribe_pivot_events(highs.append, SYM, TF, ["L1H", "L2H"])
    sub = provider.subscribe_candle_completion(candles.append, SYM, TF)
    events = [CandleCompletionEvent(SYM, TF, c) for c in candles_from_frame(SYM, TF, market)]
    CandleStore(db).write(SYM, TF, market, provenance=CandleSource.FILE)
    for ev in events[:200]:
        bus.publish(candle_topic(SYM, TF), ev)
    sub.cancel()
    for ev in events[200:]:
        bus.publish(candle_topic(SYM, TF), ev)
    bus.publish(candle_topic(SYM, TF), events[-1])  # a repeat is ignored
    engine.close()
    full = compute_structure(SYM, TF, market)
    assert [e.pivot for e in good] == full.pivots
    assert sum(n for name, n in bus.errors.items() if name.endswith("broken")) == len(full.pivots)
    assert [e.pivot for e in highs] == [p for p in full.pivots if p.pivot_type in ("L1H", "L2H")]
    assert candles == events[:200]
    assert engine.stats.stale == 1
    with pytest.raises(UserInputError, match="pivot type"):
        provider.subscribe_pivot_events(good.append, SYM, TF, ["L9H"])


def test_engine_warms_up_only_from_candles_closed_before_the_event(
    db: Database, market: pd.DataFrame
) -> None:
    # the store already holds later candles (e.g. a backfill): the engine must not read them
    CandleStore(db).write(SYM, TF, market, provenance=CandleSource.FILE)
    bus = MessageBus()
    engine = StructureEngine(bus, db)
    engine.track(SYM, TF)
    got: list[PivotEvent] = []
    DataProvider(bus).subscribe_pivot_events(got.append, SYM, TF)
    first = candles_from_frame(SYM, TF, market.iloc[100:101])[0]
    bus.publish(candle_topic(SYM, TF), CandleCompletionEvent(SYM, TF, first))
    engine.close()
    assert engine.stats.warmed_up == 100
    assert IndicatorStore(db).read(SYM, TF)["open_time"].max() == first.open_time
    cutoff = first.close_time
    full = compute_structure(SYM, TF, market)
    assert PivotStore(db).read(SYM, TF) == [p for p in full.pivots if p.confirmed_at <= cutoff]
    assert [e.pivot for e in got] == [p for p in full.pivots if p.confirmed_at == cutoff]


def test_batched_indicator_rows_wait_for_their_batch_but_pivots_are_stored_first(
    db: Database, market: pd.DataFrame
) -> None:
    # a replay batches indicator rows (flush_every): a pivot's commit stores the pivot before it
    # is published and leaves the batch's indicator rows for their own flush
    CandleStore(db).write(SYM, TF, market, provenance=CandleSource.FILE)
    bus = MessageBus()
    engine = StructureEngine(bus, db, flush_every=100)
    engine.track(SYM, TF)
    at_publish: list[tuple[bool, int]] = []

    def check(event: PivotEvent) -> None:
        stored = PivotStore(db).read(SYM, TF)
        at_publish.append((event.pivot in stored, len(IndicatorStore(db).read(SYM, TF))))

    DataProvider(bus).subscribe_pivot_events(check, SYM, TF)
    for candle in candles_from_frame(SYM, TF, market):
        bus.publish(candle_topic(SYM, TF), CandleCompletionEvent(SYM, TF, candle))
    engine.close()
    assert len(at_publish) > 20
    assert all(stored for stored, _ in at_publish)
    # indicator rows land in whole batches of 100, never with a pivot's commit
    assert {n % 100 for _, n in at_publish} == {0}
    full = compute_structure(SYM, TF, market)
    assert PivotStore(db).read(SYM, TF) == full.pivots
    ind = IndicatorStore(db).read(SYM, TF).drop(columns="open_time").to_numpy()
    assert (np.isnan(ind) == np.isnan(full.indicators)).all()

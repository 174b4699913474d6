"""A live session that falls behind its candles keeps a bounded backlog of the newest batches.

Live (threaded training), the batch builder waits for quiet moments of the tick and the trainer
takes a step per batch; a feed faster than both (30x) used to pile batches up without end. Here
the test holds the bus's foreground for the whole run, as a tick that never ends: each batch
waits a second for it, so the builder falls far behind the ticks.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import groupby
from pathlib import Path

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.loop.batch_backlog import MAX_WAITING_BATCHES
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database

from .conftest import START, SYM, small_config

MINUTES = 30


def test_a_session_behind_its_candles_keeps_only_the_newest_batches_waiting(
    market: Database, tmp_path: Path
) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    cfg = replace(
        small_config("behind", mode="every_candle", flush_every=1), synchronous_training=False
    )
    s = LoopSession(market, cfg, bus, clock, checkpoint_dir=str(tmp_path / "ckpt")).start()
    events = replay_events(s.candles, [SYM], ["1m", "1h"], START, START + MINUTES * MINUTE_MS)
    most_waiting = 0
    bus.foreground.enter()  # a tick in flight all along: every batch waits its full second
    try:
        for _, tick in groupby(events, key=lambda ev: ev.time):
            evs = list(tick)
            clock.advance_to(evs[0].time)
            bus.publish_many((candle_topic(ev.symbol, ev.timeframe), ev) for ev in evs)
            s.wait_written()
            most_waiting = max(most_waiting, s.training_backlog["waiting"])
    finally:
        bus.foreground.leave()
    made = s.policy.batches
    s.stop()  # finishes what waits
    status = s.status()
    backlog, trainer = status["training_backlog"], status["trainer"]
    assert made >= MINUTES - 1  # every_candle: a batch per resolved 1m candle
    assert backlog["batches"] == made
    assert 1 <= most_waiting <= backlog["limit"] == MAX_WAITING_BATCHES
    # most batches gave way: the builder took at most a few in the ticks' time
    assert backlog["superseded"] >= made // 2
    assert backlog["waiting"] == 0  # the stop finished the rest
    # the trainer was handed at most what was not superseded, never more than it had room for
    assert 0 < trainer["submitted"] <= made - backlog["superseded"]
    assert trainer["dropped"] == 0
    assert status["train_steps"] == trainer["ok"] > 0


def test_a_session_that_keeps_up_supersedes_nothing(market: Database, tmp_path: Path) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    cfg = replace(
        small_config("up", mode="every_candle", flush_every=1), synchronous_training=False
    )
    s = LoopSession(market, cfg, bus, clock, checkpoint_dir=str(tmp_path / "ckpt")).start()
    events = replay_events(s.candles, [SYM], ["1m", "1h"], START, START + 10 * MINUTE_MS)
    trainer = s.trainer
    assert trainer is not None
    for _, tick in groupby(events, key=lambda ev: ev.time):
        evs = list(tick)
        clock.advance_to(evs[0].time)
        bus.publish_many((candle_topic(ev.symbol, ev.timeframe), ev) for ev in evs)
        s.wait_written()
        while s.training_backlog["waiting"]:  # between ticks, as live: training catches up
            trainer.flush(timeout_s=0.05)
        assert trainer.flush(timeout_s=60)
    s.stop()
    backlog = s.status()["training_backlog"]
    assert backlog["superseded"] == 0
    assert backlog["batches"] == s.policy.batches >= 9

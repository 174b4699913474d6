"""Training modes on a live-like session: real bus, real PivotEvents, real trainer."""

from __future__ import annotations

import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import Pivot, PivotEvent, candle_topic, pivot_topic
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore

from .conftest import START, SYM, small_config


def _run(session: LoopSession, clock: ReplayClock, bus: MessageBus, minutes: int) -> None:
    end = START + minutes * MINUTE_MS
    for ev in replay_events(session.candles, [SYM], ["1m", "1h"], START, end):
        clock.advance_to(ev.time)
        bus.publish(candle_topic(ev.symbol, ev.timeframe), ev)


def _pivot(pivot_open: int, confirmed_at: int, kind: str) -> PivotEvent:
    p = Pivot(SYM, "1m", pivot_open, 3000.0, f"L1{kind}", 1, 1.0, confirmed_at)
    return PivotEvent(SYM, "1m", p)


def test_pivots_only_trains_at_confirmation_with_the_pivot_label(
    market: Database, ckpt_dir: str
) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    s = LoopSession(
        market,
        small_config("piv", mode="pivots_only", flush_every=1),
        bus,
        clock,
        checkpoint_dir=ckpt_dir,
    ).start()
    _run(s, clock, bus, 20)
    assert s.status()["train_steps"] == 0  # resolved predictions alone never train here
    low_open = START + 10 * MINUTE_MS
    bus.publish(pivot_topic(SYM, "1m"), _pivot(low_open, clock.now_ms(), "L"))
    high_open = START + 14 * MINUTE_MS
    bus.publish(pivot_topic(SYM, "1m"), _pivot(high_open, clock.now_ms(), "H"))
    s.flush()
    steps = SessionStore(market).steps("piv")
    assert [st.reason for st in steps] == ["pivot", "pivot"]
    assert all(st.status == "ok" for st in steps)
    samples = s.policy.buffered("1m")
    assert [(x.frame.decision_time, Action(x.action)) for x in samples] == [
        (low_open + MINUTE_MS, Action.BUY),
        (high_open + MINUTE_MS, Action.SELL),
    ]
    assert samples[0].frame.frame_id in steps[0].frame_ids
    assert s.status()["train_steps"] == 2
    s.stop()


def test_manual_mode_trains_only_on_request(market: Database, ckpt_dir: str) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    s = LoopSession(
        market,
        small_config("man", mode="manual", flush_every=1),
        bus,
        clock,
        checkpoint_dir=ckpt_dir,
    ).start()
    _run(s, clock, bus, 10)
    assert s.status()["train_steps"] == 0
    version = s.model_snapshot().version
    frame = s.label(SYM, "1m", Action.SELL)
    assert frame.decision_time == clock.now_ms()  # the current candle's frame
    s.flush()
    steps = SessionStore(market).steps("man")
    assert [(st.reason, st.status) for st in steps] == [("manual", "ok")]
    assert steps[0].frame_ids == (frame.frame_id,)
    assert s.model_snapshot().version != version
    s.stop()


def test_manual_label_is_refused_in_other_modes(market: Database, ckpt_dir: str) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    s = LoopSession(
        market,
        small_config("nolabel", mode="none", flush_every=1),
        bus,
        clock,
        checkpoint_dir=ckpt_dir,
    ).start()
    _run(s, clock, bus, 3)
    with pytest.raises(UserInputError, match="manual mode"):
        s.label(SYM, "1m", Action.BUY)
    s.stop()
    assert SessionStore(market).steps("nolabel") == []


def test_live_session_with_threaded_bus_and_async_training(market: Database, ckpt_dir: str) -> None:
    clock, bus = ReplayClock(START), MessageBus(threaded=True)
    cfg = small_config("thr", mode="every_candle", flush_every=1, synchronous_training=False)
    s = LoopSession(market, cfg, bus, clock, checkpoint_dir=ckpt_dir).start()
    _run(s, clock, bus, 15)
    assert bus.drain(timeout=30)
    st = s.status()
    assert st["running"]
    assert st["metrics"]["predictions"] == 5 * 15
    s.stop()
    final = SessionStore(market).require("thr")
    assert final.status == "stopped"
    assert final.train_steps == len(
        [x for x in SessionStore(market).steps("thr") if x.status == "ok"]
    )
    assert final.train_steps >= 1
    recent = s.recent_predictions(5)
    assert len(recent) == 5
    assert recent[0].decision_time == START + 15 * MINUTE_MS


def test_a_repeated_candle_is_not_predicted_twice(market: Database, ckpt_dir: str) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    s = LoopSession(
        market, small_config("dup", flush_every=1), bus, clock, checkpoint_dir=ckpt_dir
    ).start()
    _run(s, clock, bus, 5)
    assert s.wait_written(timeout_s=30)  # the ledger writer commits in the background
    before, made = s.ledger.counts("dup"), s.metrics.predictions
    last = next(
        e
        for e in replay_events(
            s.candles, [SYM], ["1m"], START + 4 * MINUTE_MS, START + 5 * MINUTE_MS
        )
    )
    bus.publish(candle_topic(SYM, "1m"), last)  # the feed re-sends the last closed candle
    assert s.wait_written(timeout_s=30)
    assert s.ledger.counts("dup") == before
    assert not bus.errors  # handled quietly, not by a refused duplicate write
    assert s.metrics.predictions == made  # and no model ran again
    s.stop()

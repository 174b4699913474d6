"""Training yields to the live tick: it waits while a tick is handled and stored, not beside it.

A live session (threaded training, ``flush_every=1``) holds its bus's foreground from a burst
of candles until the tick's job is committed; the trainer and the batch builder wait for it to
be quiet. A good step's weights are saved before the step is recorded and its weights can
predict, so the flush that carries the step finds its checkpoint already on disk: a tick's commit
never waits for a file, also when ticks come back to back and the trainer never catches up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import CandleCompletionEvent, candle_topic
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.loop.ledger_writer import LedgerWriter
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.loop.writes import SessionWrite
from ghostcandle.engine.training.checkpoints import CheckpointStore
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore

from .conftest import START, SYM, small_config

MINUTES = 40


class _SeenWriter(LedgerWriter):
    """A real writer that notes, for each session job it is handed, whether its checkpoint
    files were already written then (observation only: the job is submitted unchanged)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.checkpoints_ready: list[bool] = []

    def submit(self, write: Any, **kw: Any) -> int:
        if isinstance(write, SessionWrite) and write.checkpoints:
            self.checkpoints_ready.append(all(due.saved for due in write.checkpoints))
        return super().submit(write, **kw)


def _live(db: Database, writer: LedgerWriter, ckpt: Path) -> tuple[LoopSession, MessageBus]:
    clock, bus = ReplayClock(START), MessageBus()
    cfg = replace(
        small_config("fg", mode="every_candle", flush_every=1), synchronous_training=False
    )
    s = LoopSession(db, cfg, bus, clock, checkpoint_dir=str(ckpt), writer=writer).start()
    return s, bus


def _ticks(s: LoopSession) -> list[list[CandleCompletionEvent]]:
    events = replay_events(s.candles, [SYM], ["1m", "1h"], START, START + MINUTES * MINUTE_MS)
    return [list(g) for _, g in groupby(events, key=lambda ev: ev.time)]


def _publish(s: LoopSession, bus: MessageBus, tick: Sequence[CandleCompletionEvent]) -> None:
    assert isinstance(s.clock, ReplayClock)
    s.clock.advance_to(tick[0].time)
    bus.publish_many((candle_topic(ev.symbol, ev.timeframe), ev) for ev in tick)


def test_a_live_tick_is_stored_before_training_goes_on_and_finds_its_checkpoint_written(
    market: Database, tmp_path: Path
) -> None:
    writer = _SeenWriter(market)
    s, bus = _live(market, writer, tmp_path / "ckpt")
    trainer = s.trainer
    assert trainer is not None
    assert trainer.yield_to is bus.foreground
    grew, before = 0, 0  # ticks after which training applied steps (the next flush's)
    for tick in _ticks(s):
        _publish(s, bus, tick)
        s.wait_written()
        assert bus.foreground.in_flight == 0  # the tick is stored: nothing left held
        assert trainer.flush(timeout_s=60)  # between ticks, as live: training catches up
        now = s.status()["train_steps"]
        grew, before = grew + (now > before), now
    s.stop()
    writer.close()
    steps = s.status()["train_steps"]
    assert steps > 10
    assert grew >= 5  # how many ticks applied steps depends on the machine's pace
    assert bus.foreground.yields > 0  # steps did wait for ticks
    # the flush after each tick that applied steps carried their checkpoint (the last one, at
    # stop, too), and every one found it written ahead
    assert len(writer.checkpoints_ready) >= grew - 1
    assert all(writer.checkpoints_ready)
    # and the committed row references the newest good step's file, complete on disk
    row = SessionStore(market).get("fg")
    assert row is not None
    assert row.train_steps == steps
    store = CheckpointStore(tmp_path / "ckpt", s.clock)
    info = store.find("fg", row.checkpoint_path or "")
    assert info is not None
    assert store.verify(info)
    assert info.step == row.checkpoint_step
    # superseded early saves were let go: after the stop, pruning left the series small
    assert len(store.list("fg")) <= 3 + 1


def test_back_to_back_ticks_find_every_checkpoint_written_without_waiting_for_training(
    market: Database, tmp_path: Path
) -> None:
    writer = _SeenWriter(market)
    s, bus = _live(market, writer, tmp_path / "ckpt")
    for tick in _ticks(s):  # the next tick as soon as this one is stored, as a fast replay
        _publish(s, bus, tick)
        s.wait_written()
    s.stop()
    writer.close()
    assert s.status()["train_steps"] > 0
    # steps finished while ticks were in flight (how many depends on the machine's pace), and
    # each flush carrying some found the newest one's file written (the stop's flush too)
    assert len(writer.checkpoints_ready) >= 2
    assert all(writer.checkpoints_ready)
    row = SessionStore(market).get("fg")
    assert row is not None
    info = CheckpointStore(tmp_path / "ckpt", s.clock).find("fg", row.checkpoint_path or "")
    assert info is not None
    assert info.step == row.checkpoint_step == row.train_steps


def test_a_job_the_writer_refuses_leaves_the_foreground_quiet(
    market: Database, tmp_path: Path
) -> None:
    writer = LedgerWriter(market)
    s, bus = _live(market, writer, tmp_path / "ckpt")
    first, second = _ticks(s)[:2]
    _publish(s, bus, first)
    s.wait_written()
    writer.close()  # the tick's job is refused: the bus logs it and goes on
    _publish(s, bus, second)
    assert bus.errors
    assert bus.foreground.in_flight == 0
    with pytest.raises(Exception, match="closed"):
        s.stop()

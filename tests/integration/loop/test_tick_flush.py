"""A live session (``flush_every=1``) hands the writer one job per tick, not one per candle.

The candles of every symbol closing at one second reach the bus together (the candle builder
queues them at once; here ``publish_many``): the session flushes when the bus goes idle, so
its writer commits a tick's rows of both symbols in one job. Candles published one at a time
still flush one at a time, and a burst spanning two ticks (a bus that is behind never idles
between them) still commits the first tick before the second one's candles are handled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import groupby
from pathlib import Path

import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import CandleCompletionEvent, candle_topic
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.loop.ledger_writer import LedgerWriter
from ghostcandle.engine.loop.predictor import prediction_id
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore

from .conftest import START, SYM, fill, small_config

OTHER = "BTC/USDT"
MINUTES = 12


@pytest.fixture
def both(db: Database) -> Database:
    """Return the test database with two days of both symbols."""
    fill(db)
    fill(db, symbol=OTHER, seed=6)
    return db


@pytest.fixture
def writer(db: Database) -> Iterator[LedgerWriter]:
    """Return a writer for the test's sessions; closed after it."""
    w = LedgerWriter(db)
    yield w
    w.close()


def _session(
    db: Database, writer: LedgerWriter, ckpt: Path, sid: str
) -> tuple[LoopSession, MessageBus, ReplayClock]:
    clock, bus = ReplayClock(START), MessageBus()
    cfg = replace(small_config(sid, flush_every=1), symbols=(SYM, OTHER))
    s = LoopSession(db, cfg, bus, clock, checkpoint_dir=str(ckpt), writer=writer).start()
    return s, bus, clock


def _ticks(s: LoopSession) -> list[list[CandleCompletionEvent]]:
    events = replay_events(s.candles, [SYM, OTHER], ["1m"], START, START + MINUTES * MINUTE_MS)
    return [list(g) for _, g in groupby(events, key=lambda ev: ev.time)]


def _jobs(s: LoopSession, writer: LedgerWriter) -> int:
    """Return the jobs the writer has committed, once the session's are."""
    s.wait_written()
    return writer.stats.jobs


def _stored(db: Database, sid: str) -> int:
    row = db.con.execute(
        "SELECT count(*) FROM prediction_rows WHERE session_id = ?", [sid]
    ).fetchone()
    return int(row[0]) if row else 0


def test_a_tick_of_candles_is_one_job(both: Database, writer: LedgerWriter, tmp_path: Path) -> None:
    burst, bus, clock = _session(both, writer, tmp_path, "burst")
    ticks = _ticks(burst)
    assert all(len(t) == 2 for t in ticks)  # both symbols close each minute
    jobs0 = _jobs(burst, writer)
    for tick in ticks:
        clock.advance_to(tick[0].time)
        bus.publish_many((candle_topic(ev.symbol, ev.timeframe), ev) for ev in tick)
    assert _jobs(burst, writer) - jobs0 == len(ticks)

    single, bus2, clock2 = _session(both, writer, tmp_path, "single")
    jobs0 = _jobs(single, writer)
    for tick in ticks:
        clock2.advance_to(tick[0].time)
        for ev in tick:
            bus2.publish(candle_topic(ev.symbol, ev.timeframe), ev)
    assert _jobs(single, writer) - jobs0 == 2 * len(ticks)
    # the same predictions either way, all stored
    assert _stored(both, "burst") == _stored(both, "single") > 0
    burst.stop()
    single.stop()


def test_a_burst_of_two_ticks_commits_the_first_before_the_second(
    both: Database, writer: LedgerWriter, tmp_path: Path
) -> None:
    s, bus, clock = _session(both, writer, tmp_path, "behind")
    first, second = _ticks(s)[:2]
    progress: list[int | None] = []
    clock.advance_to(second[0].time)

    def seen(_: object) -> None:  # the committed progress when the second tick's candles come
        s.wait_written()
        row = SessionStore(both).get("behind")
        progress.append(None if row is None else row.progress_time)

    bus.subscribe(candle_topic(SYM, "1m"), seen)
    bus.publish_many((candle_topic(ev.symbol, ev.timeframe), ev) for ev in [*first, *second])
    s.flush()
    assert progress[1] == first[0].candle.close_time
    s.stop()


def test_a_prediction_is_readable_by_the_next_subscriber_before_the_tick_is_flushed(
    both: Database, writer: LedgerWriter, tmp_path: Path
) -> None:
    """The UI bridge, subscribed after the session, pushes the prediction the candle made."""
    s, bus, clock = _session(both, writer, tmp_path, "seen")
    tick = _ticks(s)[0]
    found: list[bool] = []

    def bridge(ev: CandleCompletionEvent) -> None:
        pid = prediction_id("seen", s.config.model, ev.symbol, ev.timeframe, ev.time)
        found.append(s.ledger.get(pid) is not None)
        found.append(pid in {r.prediction_id for r in s.recent_predictions(50)})

    for symbol in (SYM, OTHER):
        bus.subscribe(candle_topic(symbol, "1m"), bridge)
    clock.advance_to(tick[0].time)
    bus.publish_many((candle_topic(ev.symbol, ev.timeframe), ev) for ev in tick)
    assert found == [True] * 4
    s.stop()

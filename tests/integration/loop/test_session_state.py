"""A session's life on a real database: states, refused moves, failures with a reason, and a
``status()`` that only reads."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError, IllegalTransitionError, OperationalError
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.session_state import SessionState
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.loop.ledger_writer import LedgerWriter
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database
from ghostcandle.store.predictions import PredictionLedger
from ghostcandle.store.sessions import SessionStore

from .conftest import START, SYM, small_config


def _run(session: LoopSession, clock: ReplayClock, bus: MessageBus, minutes: int) -> None:
    for ev in replay_events(
        session.candles, [SYM], ["1m", "1h"], START, START + minutes * MINUTE_MS
    ):
        clock.advance_to(ev.time)
        bus.publish(candle_topic(ev.symbol, ev.timeframe), ev)


def _threads(session_id: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.endswith(session_id)]


def test_a_session_goes_created_running_stopped_and_refuses_the_rest(
    market: Database, ckpt_dir: str
) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    s = LoopSession(
        market, small_config("life", flush_every=1), bus, clock, checkpoint_dir=ckpt_dir
    )
    rows = SessionStore(market)
    assert s.state is SessionState.CREATED
    assert not s.running
    with pytest.raises(IllegalTransitionError, match="created"):
        s.stop()
    assert s.state is SessionState.CREATED
    assert rows.get("life") is None  # a refused stop wrote nothing

    s.start()
    assert s.state is SessionState.RUNNING
    assert s.running
    assert rows.require("life").status == SessionState.RUNNING
    with pytest.raises(IllegalTransitionError, match="life is running"):
        s.start()
    assert s.state is SessionState.RUNNING
    _run(s, clock, bus, 3)
    assert s.status()["state"] == "running"

    s.stop()
    assert (s.state, s.reason) == (SessionState.STOPPED, None)
    row = rows.require("life")
    assert row.status == SessionState.STOPPED
    for again in (s.stop, s.start):
        with pytest.raises(IllegalTransitionError, match="life is stopped"):
            again()
    assert s.state is SessionState.STOPPED
    assert rows.require("life") == row  # the refused moves changed nothing stored
    assert s.status()["state"] == "stopped"


def test_a_start_that_fails_leaves_the_session_failed_with_its_reason(
    market: Database, ckpt_dir: str
) -> None:
    cfg = dataclasses.replace(small_config("nodata", flush_every=1), symbols=("BTC/USDT",))
    s = LoopSession(market, cfg, MessageBus(), ReplayClock(START), checkpoint_dir=ckpt_dir)
    with pytest.raises(DataMissingError, match="BTC/USDT has no") as info:
        s.start()
    assert s.state is SessionState.FAILED
    assert s.reason == str(info.value)
    row = SessionStore(market).require("nodata")
    assert row.status == SessionState.FAILED
    assert row.summary == {"reason": s.reason}
    st = s.status()
    assert (st["state"], st["reason"], st["running"]) == ("failed", s.reason, False)
    assert _threads("nodata") == []  # its trainer thread was let go
    with pytest.raises(IllegalTransitionError, match="nodata is failed"):
        s.stop()


def test_a_stop_whose_last_flush_fails_leaves_the_session_failed(
    market: Database, ckpt_dir: str
) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    writer = LedgerWriter(market)
    s = LoopSession(
        market, small_config("brk", flush_every=50), bus, clock, checkpoint_dir=ckpt_dir,
        writer=writer,
    ).start()  # fmt: skip
    _run(s, clock, bus, 3)
    writer.close()  # the shared writer goes away under the session
    with pytest.raises(OperationalError, match="closed"):
        s.stop()
    assert s.state is SessionState.FAILED
    assert s.reason is not None
    assert "closed" in s.reason
    assert SessionStore(market).require("brk").status == SessionState.FAILED


@pytest.mark.parametrize("flush_every", [1, 50])
def test_status_only_reads_and_counts_what_is_not_committed_yet(
    market: Database, ckpt_dir: str, flush_every: int
) -> None:
    clock, bus = ReplayClock(START), MessageBus()
    writer = LedgerWriter(market)
    sid = f"ro{flush_every}"
    s = LoopSession(
        market, small_config(sid, flush_every=flush_every), bus, clock, checkpoint_dir=ckpt_dir,
        writer=writer,
    ).start()  # fmt: skip
    _run(s, clock, bus, 12)
    assert writer.wait(timeout_s=30)
    ledger, rows = PredictionLedger(market), SessionStore(market)
    jobs, written, row = writer.stats.jobs, writer.written, rows.require(sid)
    committed = ledger.counts(sid)
    for _ in range(3):
        st = s.status()
    assert writer.wait(timeout_s=30)
    assert (writer.stats.jobs, writer.written) == (jobs, written)  # nothing was handed over
    assert rows.require(sid) == row
    assert ledger.counts(sid) == committed
    # ... and yet its counts are fresh: what a flush then commits
    s.flush()
    assert st["predictions"] == ledger.counts(sid)
    assert sum(st["predictions"].values()) == st["metrics"]["predictions"] == 5 * 12
    if flush_every > 1:
        assert st["predictions"] != committed  # some were only in memory when asked
    s.stop()
    writer.close()

"""Live sessions side by side in one ``Runtime``: slots keyed by session id on one bus and store.

The exchange simulator is the real one on a real socket; the runtime's feed, bus, structure
engine and DuckDB file are the ones ``ghostcandle serve`` uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import DataMissingError, IllegalTransitionError
from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.runtime import ExchangeConfig, LiveRequest, Runtime
from ghostcandle.feeds.simulator.market import synthetic_market
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore

SYMBOL = "ETH/USDT"
INTERVALS = ("1s", "1m")


@pytest.fixture
def runtime(db: Database) -> Iterator[Runtime]:
    """A runtime streaming an hour of history and then live 1s/1m candles from the simulator."""
    start = LiveClock().now_ms() - HOUR_MS
    market = synthetic_market((SYMBOL,), INTERVALS, start_ms=start, seed=21)
    with ExchangeSimulator(market, SimulatorConfig(seed=21)) as sim:
        ex = ExchangeConfig(
            rest_url=sim.rest_url,
            ws_url=sim.ws_url,
            synthetic=True,
            symbols=(SYMBOL,),
            intervals=INTERVALS,
        )
        rt = Runtime(db, LiveClock(), exchange=ex)
        try:
            rt.start_feed(wait_s=30)
            yield rt
        finally:
            rt.close()


def _predicted_after(session: LoopSession, t_ms: int, timeout_s: float = 60.0) -> int:
    """Wait until ``session``'s model has predicted a candle that closed after ``t_ms``;
    return that prediction's decision time."""
    deadline = time.monotonic() + timeout_s
    model = session.config.model
    while time.monotonic() < deadline:
        mine = [p for p in session.recent_predictions(50) if p.model == model]
        newest = max((p.decision_time for p in mine), default=-1)
        if newest > t_ms:
            return newest
        time.sleep(0.2)
    raise AssertionError(f"{session.config.session_id} predicted nothing after {t_ms}")


def test_two_models_run_side_by_side_and_stopping_one_leaves_the_other_running(
    runtime: Runtime,
) -> None:
    a = runtime.start_live(LiveRequest(symbol=SYMBOL, model="transformer"))
    b = runtime.start_live(LiveRequest(symbol=SYMBOL, model="cnn"))
    ids = (a.config.session_id, b.config.session_id)
    assert ids[0] != ids[1]
    listed = runtime.sessions()
    assert [(s["session_id"], s["model"], s["state"]) for s in listed] == [
        (ids[0], "transformer", "running"),
        (ids[1], "cnn", "running"),
    ]
    # the newest is what a caller naming no session gets; each id finds its own slot
    assert runtime.session is b
    slot_a, slot_b = runtime.slot(ids[0]), runtime.slot(ids[1])
    assert slot_a is not None
    assert slot_b is not None
    assert (slot_a.session, slot_b.session) == (a, b)
    assert slot_a.paper is not None
    assert slot_b.paper is not None
    assert slot_a.paper is not slot_b.paper
    assert runtime.paper_of(ids[0]) is slot_a.paper

    # both predict the same live candles, each under its own session id
    now = LiveClock().now_ms()
    _predicted_after(a, now)
    _predicted_after(b, now)
    assert {p.session_id for p in a.recent_predictions(50)} == {ids[0]}
    assert {p.session_id for p in b.recent_predictions(50)} == {ids[1]}
    paper = PaperStore(runtime.db)
    assert paper.summary(ids[0]) is not None
    assert paper.summary(ids[1]) is not None

    stopped = runtime.stop_live(ids[0])
    assert stopped is a
    assert not a.running
    assert runtime.slot(ids[0]).paper is None  # type: ignore[union-attr]
    # the other one keeps predicting the candles that close after the stop
    after = LiveClock().now_ms()
    _predicted_after(b, after)
    assert b.running
    assert [s["state"] for s in runtime.sessions()] == ["stopped", "running"]
    with pytest.raises(IllegalTransitionError, match="nothing to stop"):
        runtime.stop_live(ids[0])
    with pytest.raises(DataMissingError, match="no live session 'nope'"):
        runtime.stop_live("nope")
    # the newest (b) is what stop without an id stops
    assert runtime.stop_live() is b


def test_the_same_session_twice_and_more_than_the_cap_are_refused_in_one_line(
    runtime: Runtime,
) -> None:
    runtime.slots.cap = 2
    a = runtime.start_live(LiveRequest(symbol=SYMBOL, model="transformer"))
    # the same model, symbol and timeframes is the same session: one writer of its weights
    with pytest.raises(IllegalTransitionError, match="already runs") as same:
        runtime.start_live(
            LiveRequest(symbol=SYMBOL, model="transformer", mode=TrainingMode.MANUAL)
        )
    assert "\n" not in str(same.value)
    # the same model on other timeframes is another session
    b = runtime.start_live(LiveRequest(symbol=SYMBOL, model="transformer", timeframes=("1m",)))
    assert b.config.session_id != a.config.session_id
    with pytest.raises(IllegalTransitionError, match="stop one first") as full:
        runtime.start_live(LiveRequest(symbol=SYMBOL, model="cnn"))
    assert "\n" not in str(full.value)
    assert [s["session_id"] for s in runtime.sessions()] == [
        a.config.session_id,
        b.config.session_id,
    ]
    # stopping one makes room; a restart of the stopped id becomes the newest
    runtime.stop_live(a.config.session_id)
    c = runtime.start_live(LiveRequest(symbol=SYMBOL, model="cnn"))
    assert runtime.session is c
    runtime.stop_live(b.config.session_id)
    again = runtime.start_live(LiveRequest(symbol=SYMBOL, model="transformer"))
    assert again.config.session_id == a.config.session_id
    assert [s["session_id"] for s in runtime.sessions()][-1] == a.config.session_id
    assert runtime.session is again
    assert again.running

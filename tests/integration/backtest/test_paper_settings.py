"""Changing a paper account's minimum confidence and cooldown while its live session runs.

The change is stored with the account and rules from the next signal: an account reset and
given new settings at a candle trades on exactly as a backtest with those settings starting at
that candle does (and not as one with the old settings).
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.trading.paper import PaperTrader, change_settings, reset_account
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore

from .conftest import BROKER as PAPER_BROKER
from .conftest import SYMBOL, T0, M, live_session
from .conftest import backtest as run_backtest

BROKER = dataclasses.replace(PAPER_BROKER, close_at_end=False)
NEW = {"min_confidence": 0.0, "cooldown": 7}


def test_new_settings_rule_the_running_account_from_the_next_signal(db: Database) -> None:
    CandleStore(db).write(
        SYMBOL,
        "1m",
        synthetic_candles(400, "1m", start_ms=T0, seed=11),
        provenance=CandleSource.FILE,
    )
    start, change_at, end = T0 + 60 * M, T0 + 200 * M, T0 + 360 * M
    clock, bus = ReplayClock(start), MessageBus(threaded=True, name="live")
    session = live_session(db, "paper-s", clock, bus)
    store = PaperStore(db)
    trader = PaperTrader(session, store, config=BROKER)
    try:
        for event in replay_events(session.candles, (SYMBOL,), ("1m",), start, end):
            clock.advance_to(event.time)
            bus.publish(candle_topic(SYMBOL, "1m"), event)
            assert bus.drain(timeout=30)
            if event.time == change_at:
                reset_account(store, trader, "paper-s", clock.now_ms())
                summary = change_settings(store, trader, "paper-s", NEW, clock.now_ms())
                assert (summary["min_confidence"], summary["cooldown"]) == (0.0, 7)
    finally:
        trader.close()
        session.stop()
        bus.close()
    assert not bus.errors

    new = run_backtest(db, change_at, end, dataclasses.replace(BROKER, **NEW))
    old = run_backtest(db, change_at, end, BROKER)
    assert new.trades != old.trades  # the settings matter on this market
    assert tuple(store.trades("paper-s")) == new.trades
    # stored: a trader attached again to the account keeps them
    account = store.load("paper-s")
    assert account is not None
    assert (account.config["min_confidence"], account.config["cooldown"]) == (0.0, 7)
    assert account.config["fee_bps"] == BROKER.fee_bps


def test_bad_settings_are_refused_in_one_line_and_change_nothing(db: Database) -> None:
    store = PaperStore(db)
    store.create("s1", "1m", BROKER.to_json(), 10_000.0, T0)
    before = store.load("s1")
    for changes, words in (
        ({"min_confidence": 1.2}, "minimum confidence 1.2 must be in [0, 1]"),
        ({"min_confidence": float("nan")}, "must be in [0, 1]"),
        ({"cooldown": -1}, "cooldown -1 must be >= 0 candles"),
        ({"cooldown": 2.5}, "whole number of candles"),
        ({"fee_bps": 0.0}, "fee_bps cannot be changed"),
        ({}, "nothing to change"),
    ):
        with pytest.raises(UserInputError, match=re.escape(words)) as e:
            change_settings(store, None, "s1", changes, T0 + M)
        assert "\n" not in str(e.value)
    assert store.load("s1") == before
    with pytest.raises(DataMissingError, match="'nobody' has no paper account"):
        change_settings(store, None, "nobody", {"cooldown": 1}, T0)
    # a stopped session's account: stored for when it runs again
    out = change_settings(store, None, "s1", {"cooldown": 3}, T0 + M)
    assert (out["cooldown"], out["min_confidence"]) == (3, BROKER.min_confidence)

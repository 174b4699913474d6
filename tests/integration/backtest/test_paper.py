"""Paper trading on a live session (threaded bus, simulated clock), persisted and restartable.

A live session fed the stored candles of a range, one close at a time, must trade exactly as the
backtest of that range does, and its account must survive a restart.
"""

from __future__ import annotations

import dataclasses

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.trading.paper import PaperTrader
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore

from .conftest import BROKER, SYMBOL, T0, M, live_session
from .conftest import backtest as run_backtest


def _live(db: Database, session_id: str, start: int, end: int, *, stop_at: int | None) -> int:
    """Run a live session with a paper trader from ``start``, feeding closes up to ``end``.

    Return the close time of the last event fed (the session stops there, like a process).
    """
    clock = ReplayClock(start)
    bus = MessageBus(threaded=True, name="live")
    session = live_session(
        db, session_id, clock, bus, baselines=("persistence",), predict_until=end
    )
    trader = PaperTrader(session, PaperStore(db), config=BROKER)
    last = start
    try:
        for event in replay_events(session.candles, (SYMBOL,), ("1m",), start, end):
            if stop_at is not None and event.time > stop_at:
                break
            clock.advance_to(event.time)
            bus.publish(candle_topic(SYMBOL, "1m"), event)
            assert bus.drain(timeout=30)
            last = event.time
    finally:
        trader.close()
        session.stop()
        bus.close()
    assert not bus.errors
    return last


def test_live_paper_trading_equals_the_backtest_and_survives_a_restart(db: Database) -> None:
    CandleStore(db).write(
        SYMBOL,
        "1m",
        synthetic_candles(400, "1m", start_ms=T0, seed=11),
        provenance=CandleSource.FILE,
    )
    start, end = T0 + 60 * M, T0 + 360 * M
    backtest = run_backtest(db, start, end, dataclasses.replace(BROKER, close_at_end=False))
    assert len(backtest.trades) > 10

    # the process stops half-way and starts again: the account carries on from the store
    stopped = _live(db, "paper-1", start, end, stop_at=T0 + 200 * M)
    _live(db, "paper-1", stopped, end, stop_at=None)

    store = PaperStore(db)
    assert tuple(store.trades("paper-1")) == backtest.trades
    curve = store.equity_curve("paper-1")
    assert [(p.time, p.exposed) for p in curve] == [
        (p.time, p.exposed) for p in backtest.equity_curve
    ]
    assert [p.equity for p in curve] == pytest.approx([p.equity for p in backtest.equity_curve])

    summary = store.summary("paper-1")
    assert summary is not None
    assert summary["trades"] == len(backtest.trades)
    wins = sum(t.pnl > 0 for t in backtest.trades)
    assert summary["win_rate"] == pytest.approx(wins / len(backtest.trades))
    assert summary["equity"] == pytest.approx(backtest.equity_curve[-1].equity)
    assert summary["pnl"] == pytest.approx(backtest.equity_curve[-1].equity - 10_000.0)
    # the position left open is marked at the last close: equity = cash + quantity x close
    last_close = float(CandleStore(db).read(SYMBOL, "1m", end - M, end - M)["close"].iloc[0])
    for pos in summary["positions"]:
        sign = 1.0 if pos["side"] == "LONG" else -1.0
        assert pos["last_price"] == last_close
        assert summary["equity"] == pytest.approx(summary["cash"] + sign * pos["size"] * last_close)
        assert pos["unrealised_pnl"] == pytest.approx(
            sign * pos["size"] * (last_close - pos["entry_price"])
            - pos["size"] * pos["entry_price"] * 7e-4
        )
    assert len(summary["positions"]) == int(backtest.equity_curve[-1].exposed)

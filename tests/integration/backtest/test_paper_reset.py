"""Paper trading's own defaults, and resetting an account while its live session runs.

After a reset the account holds nothing and starts again at its initial equity; a running
trader carries on from the next candle exactly as a backtest starting at the reset would.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.trading.paper import (
    PAPER_MIN_CONFIDENCE,
    PaperTrader,
    paper_config,
    reset_account,
)
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore

from .conftest import BROKER as PAPER_BROKER
from .conftest import SYMBOL, T0, M, live_session
from .conftest import backtest as run_backtest

BROKER = dataclasses.replace(PAPER_BROKER, close_at_end=False)
TABLES = ("paper_positions", "paper_orders", "paper_trades", "paper_equity")


def _rows(db: Database, session_id: str) -> dict[str, int]:
    return {
        t: int(db.con.execute(f"SELECT count(*) FROM {t} WHERE session_id = ?", [session_id])
               .fetchone()[0])  # type: ignore[index]
        for t in TABLES
    }  # fmt: skip


def test_paper_defaults_stop_the_flip_flop() -> None:
    assert [paper_config(tf).cooldown for tf in ("1s", "1m", "1h", "1d")] == [600, 10, 1, 1]
    cfg = paper_config("1m")
    assert (cfg.hold, cfg.min_confidence, cfg.close_at_end) == ("flat", PAPER_MIN_CONFIDENCE, False)
    assert paper_config("1m", cooldown=0).cooldown == 0


def test_a_reset_account_restarts_and_the_running_trader_carries_on(db: Database) -> None:
    CandleStore(db).write(
        SYMBOL,
        "1m",
        synthetic_candles(400, "1m", start_ms=T0, seed=11),
        provenance=CandleSource.FILE,
    )
    start, reset_at, end = T0 + 60 * M, T0 + 200 * M, T0 + 360 * M
    clock, bus = ReplayClock(start), MessageBus(threaded=True, name="live")
    session = live_session(db, "paper-r", clock, bus)
    store = PaperStore(db)
    trader = PaperTrader(session, store, config=BROKER)
    try:
        for event in replay_events(session.candles, (SYMBOL,), ("1m",), start, end):
            clock.advance_to(event.time)
            bus.publish(candle_topic(SYMBOL, "1m"), event)
            assert bus.drain(timeout=30)
            if event.time == reset_at:
                before = store.summary("paper-r")
                assert before is not None
                assert before["trades"] > 3
                summary = reset_account(store, trader, "paper-r", clock.now_ms())
                assert summary["equity"] == summary["cash"] == 10_000.0
                assert (summary["trades"], summary["positions"], summary["orders"]) == (0, [], [])
                assert _rows(db, "paper-r") == dict.fromkeys(TABLES, 0)
                assert trader.broker.state().positions == ()
    finally:
        trader.close()
        session.stop()
        bus.close()
    assert not bus.errors

    # from the reset on, the account traded as a backtest starting at the reset does
    backtest = run_backtest(db, reset_at, end, BROKER)
    assert len(backtest.trades) > 3
    assert tuple(store.trades("paper-r")) == backtest.trades
    curve = store.equity_curve("paper-r")
    assert [p.time for p in curve] == [p.time for p in backtest.equity_curve]
    assert [p.equity for p in curve] == pytest.approx([p.equity for p in backtest.equity_curve])
    after = store.summary("paper-r")
    assert after is not None
    assert after["trades"] == len(backtest.trades)


def test_an_account_stored_before_hold_and_cooldown_existed_gets_todays_defaults(
    db: Database,
) -> None:
    CandleStore(db).write(
        SYMBOL,
        "1m",
        synthetic_candles(100, "1m", start_ms=T0, seed=3),
        provenance=CandleSource.FILE,
    )
    old = {k: v for k, v in BROKER.to_json().items() if k not in ("hold", "cooldown")}
    PaperStore(db).create("old", "1m", old, 10_000.0, T0)
    clock, bus = ReplayClock(T0 + 50 * M), MessageBus(threaded=True, name="old")
    session = live_session(db, "old", clock, bus)
    try:
        trader = PaperTrader(session, PaperStore(db))
        assert trader.config == dataclasses.replace(
            BROKER, hold="flat", cooldown=paper_config("1m").cooldown
        )
        trader.close()
    finally:
        session.stop()
        bus.close()


def test_resetting_an_unknown_account_says_so_in_one_line(db: Database) -> None:
    store = PaperStore(db)
    assert store.reset("nobody", 0) is None
    with pytest.raises(DataMissingError, match="'nobody' has no paper account") as info:
        reset_account(store, None, "nobody", 0)
    assert "\n" not in str(info.value)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ghostcandle.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_paper_reset(tmp_path: Path) -> None:
    path = tmp_path / "cli.duckdb"
    with Database(path) as db:
        store = PaperStore(db)
        store.create("s1", "1m", BROKER.to_json(), 10_000.0, T0)
        db.con.execute("INSERT INTO paper_equity VALUES ('s1', ?, 9000.0, true)", [T0 + M])
        db.con.execute("UPDATE paper_accounts SET cash = 9000, equity = 9000")
    ok = _cli("paper", "reset", "--session", "s1", "--db", str(path), "--json")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert (out["equity"], out["cash"], out["trades"]) == (10_000.0, 10_000.0, 0)
    with Database(path, read_only=True) as db:
        assert _rows(db, "s1") == dict.fromkeys(TABLES, 0)
    bad = _cli("paper", "reset", "--session", "ghost", "--db", str(path))
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert "'ghost' has no paper account" in bad.stderr

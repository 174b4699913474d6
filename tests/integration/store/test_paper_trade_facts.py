"""The live panel's paper summary, read each candle: the same figures as a fresh read, and no
hash table's or sort's nodes left in DuckDB's eviction queues however many trades are stored."""

from __future__ import annotations

from pathlib import Path

from ghostcandle.domain.broker import BrokerState, Order, Position, Trade
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore
from ghostcandle.store.paper_trade_facts import RECENT_KEPT

from .test_write_eviction_nodes import per_write

T0 = 1_700_000_000_000
SID = "paper-1"
SYMBOLS = ("ETH/USDT", "BTC/USDT", "SOL/USDT")
STATE = BrokerState(
    990.0,
    (
        Position("BTC/USDT", "LONG", 0.1, T0, 100.0, 0.01),
        Position("ETH/USDT", "SHORT", 1.0, T0, 10.0, 0.0),
    ),
    (Order("SOL/USDT", 1, T0), Order("BTC/USDT", -1, T0)),
    7,
)


def _trade(i: int) -> Trade:
    pnl = (-1.0) ** i * (i % 7) / 3
    t = T0 + i * 60_000
    return Trade(
        SYMBOLS[i % 3], "LONG", 1.0, t, 100.0, t + 30_000, 100.0 + pnl, 0.01, 0.02, pnl, "signal"
    )


def _save(store: PaperStore, first: int, n: int, *, seq: int | None = None) -> None:
    trades = [_trade(first + i) for i in range(n)]
    store.save(
        SID, STATE, equity=1000.0 + first, last_time=T0 + (first + n) * 60_000,
        last_prices={"BTC/USDT": 101.0}, new_trades=trades,
        first_seq=first if seq is None else seq, point=None, now=T0 + first,
    )  # fmt: skip


def _summary_fresh(db: Database) -> dict[str, object] | None:
    return PaperStore(db).summary(SID, recent=5)  # a new store: nothing kept from before


def test_a_kept_summary_follows_appended_trades_and_a_reset(tmp_path: Path) -> None:
    with Database(tmp_path / "p.duckdb") as db:
        store = PaperStore(db)
        store.create(SID, "1m", {"initial_equity": 1000.0}, 1000.0, T0)
        assert store.summary(SID, recent=5) == _summary_fresh(db)
        _save(store, 0, 40)
        assert store.summary(SID, recent=5) == _summary_fresh(db)
        for first, n in ((40, 1), (41, 3), (44, 2)):  # a few at a time, as a session trades
            _save(store, first, n)
            got = store.summary(SID, recent=5)
            assert got == _summary_fresh(db)
        assert got is not None
        assert got["trades"] == 46
        assert [t["exit_time"] for t in got["recent_trades"]] == [
            _trade(i).exit_time for i in range(41, 46)
        ]
        account = store.load(SID)
        assert account is not None
        assert [p.symbol for p in account.state.positions] == ["BTC/USDT", "ETH/USDT"]
        assert [o.symbol for o in account.state.orders] == ["BTC/USDT", "SOL/USDT"]
        assert account.state.changed == PaperStore(db).load(SID).state.changed  # type: ignore[union-attr]
        # a reset, then as many trades as before with other times: everything read again
        store.reset(SID, T0 + 10**9)
        _save(store, 100, 46, seq=0)
        assert store.summary(SID, recent=5) == _summary_fresh(db)
        assert store.summary(SID, recent=RECENT_KEPT + 10) == PaperStore(db).summary(
            SID, recent=RECENT_KEPT + 10
        )


def test_the_panels_summary_leaves_no_nodes_however_many_trades(tmp_path: Path) -> None:
    """Queues 2 and up keep a node per buffer of a hash table or sort until ~32k of them: the
    summary read by ``GROUP BY`` and ``ORDER BY ... LIMIT`` over 3,000 trades left 7 a call."""
    with Database(tmp_path / "n.duckdb") as db:
        store = PaperStore(db)
        store.create(SID, "1m", {"initial_equity": 1000.0}, 1000.0, T0)
        for first in range(0, 3000, 500):
            _save(store, first, 500)
        store.summary(SID, recent=5)  # the first read reads every trade once
        nodes = per_write(db, lambda t: store.summary(SID, recent=5), first_queue=2, writes=100)
    assert nodes <= 0.1

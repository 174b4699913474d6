"""Pivots (migration 12), paper trades and equity points (migration 41) without a key.

DuckDB keeps a key in memory for every row, for ever; these tables grow with time, so their one
writer keeps them unique instead: a pivot given twice (in one batch or in two) is stored once as
first given, an equity point given again replaces the stored one, a trade whose sequence number
is stored already is refused with nothing written, and a database made before the change
migrates with every row intact. Real DuckDB files; the pivots come from real synthetic candles.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ghostcandle.domain.broker import BrokerState, EquityPoint, Trade
from ghostcandle.domain.errors import ConflictError
from ghostcandle.domain.events import Pivot
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.structure.engine import compute_structure
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore
from ghostcandle.store.pivots import PivotStore

from .old_schema import open_at

SYM = "ETH/USDT"
M = 60_000
T0 = 1_722_038_400_000  # a midnight
GROWING = ("pivot_points", "paper_trades", "paper_equity")
SMALL = ("paper_accounts", "paper_positions", "paper_orders")


def _keys_and_indexes(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> list[str]:
    t = {"t": list(tables)}
    keys = con.execute(
        "SELECT table_name FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') AND table_name IN (SELECT unnest($t))",
        t,
    ).fetchall()
    indexes = con.execute(
        "SELECT table_name FROM duckdb_indexes() WHERE table_name IN (SELECT unnest($t))", t
    ).fetchall()
    return sorted(str(r[0]) for r in [*keys, *indexes])


def _pivots() -> list[Pivot]:
    candles = synthetic_candles(400, "1m", start_ms=T0, seed=7)
    return compute_structure(SYM, "1m", candles).pivots


def test_the_growing_tables_have_no_key_and_the_small_ones_keep_theirs(db: Database) -> None:
    assert _keys_and_indexes(db.con, GROWING) == []
    assert _keys_and_indexes(db.con, SMALL) == sorted(SMALL)


def _stored_pivots(db: Database) -> list[tuple[Any, ...]]:
    return db.con.execute(
        "SELECT symbol, timeframe, pivot_type, pivot_time, price FROM pivot_points ORDER BY ALL"
    ).fetchall()


def test_a_pivot_given_twice_is_stored_once_as_first_given(db: Database) -> None:
    pivots = _pivots()
    # pivots of two levels share a time: the type tells them apart
    assert len({p.pivot_time for p in pivots}) < len(pivots)
    store = PivotStore(db)
    half = len(pivots) // 2
    moved = [replace(p, price=p.price + 1.0) for p in pivots]
    # one batch: each of the first half given twice, the first given kept
    assert store.write([*pivots[:half], *moved[:half]]) == half
    # a second batch: the stored ones are kept as they are, the rest added
    assert store.write([*moved[: half + 3], *pivots[half:]]) == len(pivots) - half
    assert store.write(pivots) == 0
    expected = sorted(
        (p.symbol, p.timeframe, p.pivot_type, p.pivot_time, p.price)
        for p in [*pivots[:half], *moved[half : half + 3], *pivots[half + 3 :]]
    )
    assert _stored_pivots(db) == expected
    # another series' pivot of the same type and time is its own row
    other = replace(pivots[0], timeframe="5m")
    assert store.write([other]) == 1
    assert len(store.read(SYM, "5m")) == 1


def _trade(i: int) -> Trade:
    t = T0 + i * 10 * M
    return Trade(SYM, "LONG", 1.0, t, 100.0 + i, t + 5 * M, 101.0 + i, 0.1, 0.1, 0.8, "signal")


def _save(
    store: PaperStore,
    sid: str,
    *,
    cash: float,
    trades: list[Trade],
    first_seq: int,
    point: EquityPoint | None,
) -> None:
    store.save(
        sid,
        BrokerState(cash, (), (), 2 * first_seq),
        equity=cash,
        last_time=point.time if point else T0,
        last_prices={},
        new_trades=trades,
        first_seq=first_seq,
        point=point,
        now=T0,
    )


def test_an_equity_point_given_again_replaces_the_stored_one(db: Database) -> None:
    store = PaperStore(db)
    for sid in ("a", "b"):
        store.create(sid, "1m", {"initial_equity": 1000.0}, 1000.0, T0)
    for i in range(3):
        point = EquityPoint(T0 + i * M, 1000.0 + i, False)
        _save(store, "a", cash=1000.0 + i, trades=[], first_seq=0, point=point)
    _save(store, "b", cash=500.0, trades=[], first_seq=0, point=EquityPoint(T0 + M, 500.0, True))
    # the same time given again (a candle handled again): the last given is kept
    _save(store, "a", cash=7.0, trades=[], first_seq=0, point=EquityPoint(T0 + M, 7.0, True))
    assert store.equity_curve("a") == [
        EquityPoint(T0, 1000.0, False),
        EquityPoint(T0 + M, 7.0, True),
        EquityPoint(T0 + 2 * M, 1002.0, False),
    ]
    assert store.equity_curve("b") == [EquityPoint(T0 + M, 500.0, True)]


def test_a_trade_whose_number_is_stored_is_refused_with_nothing_written(db: Database) -> None:
    store = PaperStore(db)
    store.create("a", "1m", {"initial_equity": 1000.0}, 1000.0, T0)
    store.create("b", "1m", {"initial_equity": 1000.0}, 1000.0, T0)
    _save(store, "a", cash=1001.0, trades=[_trade(0), _trade(1)], first_seq=0, point=None)
    _save(store, "b", cash=1001.0, trades=[_trade(0)], first_seq=0, point=None)  # its own seq 0
    point = EquityPoint(T0, 5.0, True)
    with pytest.raises(ConflictError, match=r"already holds trades 1\.\.1 of the 1\.\.2"):
        _save(store, "a", cash=5.0, trades=[_trade(5), _trade(6)], first_seq=1, point=point)
    account = store.load("a")
    assert account is not None
    assert (account.state.cash, account.trades) == (1001.0, 2)
    assert store.trades("a") == [_trade(0), _trade(1)]
    assert store.equity_curve("a") == []
    _save(store, "a", cash=1002.0, trades=[_trade(2)], first_seq=2, point=None)
    assert store.trades("a") == [_trade(0), _trade(1), _trade(2)]
    assert store.trades("b") == [_trade(0)]


def _old_database(path: Path, pivots: list[Pivot]) -> None:
    """A database made before migrations 12 and 41: the keyed tables, rows in them."""
    con = open_at(path, lambda v: v not in (12, 41))
    for p in reversed(pivots):
        con.execute(
            "INSERT INTO pivot_points VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [p.symbol, p.timeframe, p.pivot_time, p.price, p.pivot_type, p.level, p.strength,
             p.confirmed_at],
        )  # fmt: skip
    con.execute(
        "INSERT INTO paper_accounts VALUES ('s', '1m', '{\"initial_equity\": 1000.0}', 1000.0, "
        "1000.0, NULL, 0, ?)",
        [T0],
    )
    for i in (2, 0, 1):
        t = _trade(i)
        con.execute(
            "INSERT INTO paper_trades VALUES ('s', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [i, t.symbol, t.side, t.size, t.entry_time, t.entry_price, t.exit_time, t.exit_price,
             t.entry_fee, t.exit_fee, t.pnl, t.exit_reason],
        )  # fmt: skip
        con.execute(
            "INSERT INTO paper_equity VALUES ('s', ?, ?, ?)", [T0 + i * M, 1000.0 + i, i == 1]
        )
    con.close()


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def _columns(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_name IN (SELECT unnest($t)) ORDER BY ALL",
        {"t": list(GROWING)},
    ).fetchall()


def test_a_database_made_before_migrates_with_every_row_and_no_key(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    pivots = _pivots()
    _old_database(path, pivots)
    con = duckdb.connect(str(path))
    assert _keys_and_indexes(con, GROWING) == sorted(GROWING)
    before = {t: _rows(con, t) for t in GROWING}
    columns = _columns(con)
    con.close()
    assert len(before["pivot_points"]) == len(pivots)
    with Database(path) as db:
        versions = db.con.execute("SELECT list(version) FROM schema_migrations").fetchone()
        assert versions is not None
        assert {12, 41} <= set(versions[0])
        assert _keys_and_indexes(db.con, GROWING) == []
        assert _keys_and_indexes(db.con, SMALL) == sorted(SMALL)
        assert {t: _rows(db.con, t) for t in GROWING} == before
        assert _columns(db.con) == columns
        # the rows are in time order, and each writer still knows them
        times = db.con.execute("SELECT pivot_time FROM pivot_points").fetchall()
        assert times == sorted(times)
        assert PivotStore(db).write(pivots) == 0
        store = PaperStore(db)
        with pytest.raises(ConflictError):
            _save(store, "s", cash=1.0, trades=[_trade(9)], first_seq=2, point=None)
        point = EquityPoint(T0 + M, 3.0, False)
        _save(store, "s", cash=1.0, trades=[_trade(3)], first_seq=3, point=point)
        assert store.trades("s") == [_trade(i) for i in range(4)]
        assert [p.equity for p in store.equity_curve("s")] == [1000.0, 3.0, 1002.0]

"""Candles and indicators without a key (migrations 3 and 11): the write path keeps them unique."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.indicators import INDICATOR_COLUMNS
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.indicators import IndicatorStore
from ghostcandle.store.rollups import rollup_range

from .old_schema import open_at

T0 = 1_722_038_400_000  # 2024-07-27T00:00Z
M = 60_000
FILE = CandleSource.FILE
FEED = CandleSource.WEBSOCKET


def _keys(db: Database, table: str) -> list[str]:
    rows = db.con.execute(
        "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = $t "
        "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        {"t": table},
    ).fetchall()
    return [str(r[0]) for r in rows]


def _counts(db: Database, table: str) -> tuple[int, int]:
    """Return the rows of ``table`` and how many distinct (symbol, timeframe, open_time)."""
    row = db.con.execute(
        f"SELECT count(*), count(DISTINCT (symbol, timeframe, open_time)) FROM {table}"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _candle(row: pd.Series, symbol: str = "ETH/USDT", timeframe: str = "1m") -> Candle:
    return Candle(
        symbol,
        timeframe,
        int(row["open_time"]),
        float(row["open"]),
        float(row["high"]),
        float(row["low"]),
        float(row["close"]),
        float(row["volume"]),
    )


def test_candles_and_indicators_keep_no_key(db: Database) -> None:
    assert _keys(db, "candles") == []
    assert _keys(db, "indicators") == []


def test_every_candle_write_path_stores_a_candle_once(db: Database) -> None:
    store = CandleStore(db)
    df = synthetic_candles(180, "1m", start_ms=T0, seed=4)
    store.write("ETH/USDT", "1m", df.iloc[:120], provenance=FILE)  # nothing stored: one insert
    store.write("ETH/USDT", "1m", df.iloc[60:150], provenance=FILE)  # half stored: classified
    feed = [_candle(r) for _, r in df.iloc[140:180].iterrows()]
    # a hint that says nothing from 140 on is stored: the range look finds 140..149
    stale = {("ETH/USDT", "1m"): int(df["open_time"].iloc[139])}
    verdicts = store.write_many(feed, provenance=FEED, newest=stale)
    assert verdicts == ["same"] * 10 + ["new"] * 30
    assert store.write_many(feed, provenance=FEED) == ["same"] * 40
    with db.transaction() as con:
        rollup_range(store, con, "ETH/USDT", "1m", T0, T0 + 179 * M)
    with db.transaction() as con:
        rollup_range(store, con, "ETH/USDT", "1m", T0, T0 + 179 * M)
    assert _counts(db, "candles") == (180 + 3, 180 + 3)  # 3 closed hours: 1m..1h
    pd.testing.assert_frame_equal(store.read("ETH/USDT", "1m"), df)


def test_a_refused_rewrite_and_a_replaced_rollup_leave_one_row_each(db: Database) -> None:
    store = CandleStore(db)
    df = synthetic_candles(120, "1m", start_ms=T0, seed=5)
    # the first hour gets 30 of its 60 parts: once it has ended, it is stored incomplete
    store.write("ETH/USDT", "1m", pd.concat([df.iloc[:30], df.iloc[60:90]]), provenance=FILE)
    with db.transaction() as con:
        rollup_range(store, con, "ETH/USDT", "1m", T0, T0 + 89 * M)
    store.write("ETH/USDT", "1m", pd.concat([df.iloc[30:60], df.iloc[90:]]), provenance=FILE)
    with db.transaction() as con:
        res = rollup_range(store, con, "ETH/USDT", "1m", T0, T0 + 119 * M)
    assert (res["1h"].replaced, res["1h"].inserted) == (1, 1)
    stored = _candle(df.iloc[5])
    changed = replace(stored, close=stored.close * 1.01, high=max(stored.high, stored.close * 1.01))
    newest = {("ETH/USDT", "1m"): T0 - M}  # wrong: the batch clashes with stored candles
    assert store.write_many([changed], provenance=FEED, newest=newest) == ["conflict"]
    assert store.conflicts_count() == 1
    assert _counts(db, "candles") == (122, 122)
    hours = store.read("ETH/USDT", "1h", with_flags=True)
    assert hours["complete"].tolist() == [True, True]
    assert store.read("ETH/USDT", "1m")["close"].iloc[5] == df["close"].iloc[5]


def test_a_batch_holding_a_candle_twice_is_refused_and_writes_nothing(db: Database) -> None:
    store = CandleStore(db)
    df = synthetic_candles(10, "1m", start_ms=T0, seed=6)
    twice = pd.concat([df, df.iloc[[3]]])
    with pytest.raises(ValueError, match="twice"):
        store.write("ETH/USDT", "1m", twice, provenance=FILE)
    c = _candle(df.iloc[0])
    for newest in (None, {("ETH/USDT", "1m"): T0 - M}):
        with pytest.raises(ValueError, match="twice"):
            store.write_many([c, c], provenance=FEED, newest=newest)
    assert _counts(db, "candles") == (0, 0)


def test_indicators_rewritten_over_their_times_are_replaced_not_added(db: Database) -> None:
    ind = IndicatorStore(db)
    width = len(INDICATOR_COLUMNS)
    first = T0 + M * np.array([0, 2, 4, 6])
    ind.write("ETH/USDT", "1m", first, np.full((4, width), 1.0))
    ind.write("BTC/USDT", "1m", first, np.full((4, width), 9.0))  # another series, same times
    again = T0 + M * np.array([1, 2, 3, 4])
    ind.write("ETH/USDT", "1m", again, np.full((4, width), 2.0))
    assert _counts(db, "indicators") == (10, 10)
    got = ind.read("ETH/USDT", "1m")
    assert got["open_time"].tolist() == (T0 + M * np.array([0, 1, 2, 3, 4, 6])).tolist()
    np.testing.assert_array_equal(got["sma_10"], [1.0, 2.0, 2.0, 2.0, 2.0, 1.0])
    np.testing.assert_array_equal(ind.read("BTC/USDT", "1m")["sma_10"], [9.0] * 4)
    with pytest.raises(ValueError, match="twice"):
        ind.write("ETH/USDT", "1m", np.array([T0, T0]), np.zeros((2, width)))
    assert _counts(db, "indicators") == (10, 10)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    """Return each column's name, type, nullability and default, in order."""
    return [(r[0], r[1], r[2], r[4]) for r in con.execute(f"DESCRIBE {table}").fetchall()]


def _old_database(path: Path) -> None:
    """Write a database at the keyed schema: migrations 1, 2 and 10 only."""
    con = open_at(path, lambda v: v in (1, 2, 10))
    # written newest first, two series interleaved: the migration stores them in time order
    for i in (3, 1, 2, 0):
        for sym in ("ETH/USDT", "BTC/USDT"):
            con.execute(
                "INSERT INTO candles VALUES (?, '1m', ?, 1, 2, 0.5, ?, 7, NULL, TRUE, 'f', 'file')",
                [sym, T0 + i * M, 1.0 + i],
            )
            con.execute(
                "INSERT INTO indicators (symbol, timeframe, open_time, rsi_14) "
                "VALUES (?, '1m', ?, ?)",
                [sym, T0 + i * M, 50.0 + i],
            )
    con.close()


def test_a_keyed_database_migrates_with_its_rows_in_order_and_no_key(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _old_database(path)
    with duckdb.connect(str(path), read_only=True) as con:
        before = {t: _columns(con, t) for t in ("candles", "indicators")}
        rows = {
            t: sorted(con.execute(f"SELECT * FROM {t}").fetchall())
            for t in ("candles", "indicators")
        }
    with Database(path) as db:
        assert {3, 11} <= {
            int(r[0]) for r in db.con.execute("SELECT version FROM schema_migrations").fetchall()
        }
        for table in ("candles", "indicators"):
            assert _keys(db, table) == []
            assert _columns(db.con, table) == before[table]
            stored = db.con.execute(f"SELECT * FROM {table}").fetchall()
            assert stored == rows[table]  # every row, and in (symbol, timeframe, time) order
        store = CandleStore(db)
        df = store.read("ETH/USDT", "1m")
        assert store.write("ETH/USDT", "1m", df, provenance=FILE).duplicates == 4
        assert _counts(db, "candles") == (8, 8)

"""Candle provenance: every writer names its path, the store keeps the first, old rows migrate."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.aggregation import rollup
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.ingest.service import ingest_files
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.migrations import m0001_candles
from ghostcandle.store.rollups import rollup_range

T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
M = 60_000


def _provenance(db: Database, timeframe: str) -> dict[str, int]:
    rows = db.con.execute(
        "SELECT provenance, count(*) FROM candles WHERE timeframe = ? GROUP BY ALL",
        [timeframe],
    ).fetchall()
    return {str(p): int(n) for p, n in rows}


def test_ingest_stores_file_candles_and_their_rollups(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "eth_1m.csv"
    synthetic_candles(180, "1m", start_ms=T0, seed=3).to_csv(path, index=False)
    ingest_files(CandleStore(db), [path], symbol="ETH/USDT", timeframe="1m")
    assert _provenance(db, "1m") == {"file": 180}
    assert _provenance(db, "1h") == {"rollup": 3}


def test_a_duplicate_by_another_path_keeps_the_first_provenance(store: CandleStore) -> None:
    df = synthetic_candles(30, "1m", start_ms=T0, seed=1)
    store.write("ETH/USDT", "1m", df, provenance=CandleSource.FILE)
    again = store.write("ETH/USDT", "1m", df, provenance=CandleSource.WEBSOCKET)
    assert again.duplicates == 30
    assert again.inserted == 0
    assert _provenance(store.db, "1m") == {"file": 30}
    # the same through the feed's batched path
    candles = [
        Candle("ETH/USDT", "1m", int(r.open_time), r.open, r.high, r.low, r.close, r.volume)
        for r in df.itertuples()
    ]
    assert set(store.write_many(candles, provenance=CandleSource.REST_BACKFILL)) == {"same"}
    assert _provenance(store.db, "1m") == {"file": 30}


def test_a_completed_rollup_replaces_the_incomplete_one_with_its_path(store: CandleStore) -> None:
    minutes = synthetic_candles(120, "1m", start_ms=T0, seed=2)
    with store.db.transaction() as con:
        store.write_in(con, "ETH/USDT", "1m", minutes.drop(index=[5]), provenance=CandleSource.FILE)
        rollup_range(store, con, "ETH/USDT", "1m", T0, T0 + 119 * M)
    first = store.read("ETH/USDT", "1h", with_flags=True)
    assert not bool(first["complete"].iloc[0])  # a part was missing
    full = rollup(minutes, "1m", "1h").drop(columns=["n_parts", "complete"])
    result = store.write("ETH/USDT", "1h", full, provenance=CandleSource.REST_BACKFILL)
    assert result.replaced == 1
    got = store.read_rows("ETH/USDT", "1h", T0, T0 + 3_600_000)
    assert list(got.provenance) == ["rest_backfill", "rollup"]


def test_per_candle_provenance_and_refused_conflicts_keep_theirs(store: CandleStore) -> None:
    a = Candle("A/USDT", "1m", T0, 1.0, 2.0, 0.5, 1.5, 10.0)
    b = Candle("B/USDT", "1m", T0, 1.0, 2.0, 0.5, 1.5, 10.0)
    verdicts = store.write_many(
        [a, b], provenance=[CandleSource.WEBSOCKET, CandleSource.REST_BACKFILL]
    )
    assert verdicts == ["new", "new"]
    rows = store.db.con.execute("SELECT symbol, provenance FROM candles ORDER BY 1").fetchall()
    assert rows == [("A/USDT", "websocket"), ("B/USDT", "rest_backfill")]
    with pytest.raises(ValueError, match="one per candle"):
        store.write_many([a, b], provenance=[CandleSource.FILE])
    changed = Candle("A/USDT", "1m", T0, 1.0, 2.0, 0.5, 1.7, 10.0)
    assert store.write_many([changed], provenance=CandleSource.FILE) == ["conflict"]
    logged = store.db.con.execute("SELECT provenance FROM candle_conflicts").fetchall()
    assert logged == [("file",)]


def test_a_row_without_provenance_is_refused(db: Database) -> None:
    with pytest.raises(duckdb.ConstraintException):
        db.con.execute(
            "INSERT INTO candles (symbol, timeframe, open_time, open, high, low, close, volume) "
            "VALUES ('X', '1m', 0, 1, 1, 1, 1, 1)"
        )


def test_rows_stored_before_provenance_migrate_to_rollup_or_unknown(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at BIGINT NOT NULL)"
    )
    for sql in m0001_candles.STATEMENTS:
        con.execute(sql)
    con.execute("INSERT INTO schema_migrations VALUES (1, 'candles', 0)")
    con.execute(
        "INSERT INTO candles VALUES ('ETH/USDT', '1m', 0, 1, 1, 1, 1, 1, NULL, TRUE, 'eth.csv'), "
        "('ETH/USDT', '1h', 0, 1, 1, 1, 1, 1, 60, TRUE, 'rollup:1m')"
    )
    con.close()
    with Database(path) as db:
        assert _provenance(db, "1m") == {"unknown": 1}
        assert _provenance(db, "1h") == {"rollup": 1}


def test_the_demo_market_is_marked_simulator_and_its_rollups_rollup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.duckdb"
    assert main(["demo", "--db", str(path), "--days", "1"]) == 0
    capsys.readouterr()
    with Database(path, read_only=True) as db:
        assert set(_provenance(db, "1m")) == {"simulator"}
        assert set(_provenance(db, "1h")) == {"rollup"}

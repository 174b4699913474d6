"""The ledger and frames append-only (migration 24) on real DuckDB files.

No primary key on ``prediction_rows``, ``prediction_outcomes`` or ``frames`` (DuckDB keeps one
in memory per row, for ever); each row, outcome and frame is still stored once, and a database
made before the change migrates with every row intact.
"""

from __future__ import annotations

import dataclasses
from dataclasses import astuple
from pathlib import Path

import duckdb

from ghostcandle.domain.candles import Candle
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.window import WindowSpec
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore, frame_row
from ghostcandle.store.predictions import (
    _OUTCOME_ROW,
    DECISION,
    FIELDS,
    PENDING,
    RESOLVED,
    PredictionLedger,
    PredictionRecord,
)

from .ledger_rows import record as _record
from .old_schema import open_at

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000
SYM = "ETH/USDT"
LEDGER_TABLES = ("prediction_rows", "prediction_outcomes", "frames")
_OUTCOME_FLOATS = ("actual_open", "actual_high", "actual_low", "actual_close", "actual_volume",
                   "price_error", "volume_error", "reward")  # fmt: skip


def _frame(fid: str, t: int, model: str = "cnn") -> FrameRef:
    return FrameRef(
        frame_id=fid,
        model=model,
        model_version="v1",
        symbol=SYM,
        decision_time=t,
        windows=(WindowSpec("1m", t - 60_000, 120),),
        norm_params={"1m.price_ref": 100.5},
        input_hash="h" + fid,
        target_time=t + 60_000,
    )


def _keys(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return [
        (str(t), str(c))
        for t, c in con.execute(
            "SELECT table_name, constraint_type FROM duckdb_constraints() "
            "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') AND table_name IN "
            "(SELECT unnest($t))",
            {"t": list(LEDGER_TABLES)},
        ).fetchall()
    ]


def _candle(t: int, close: float) -> Candle:
    return Candle(SYM, "1m", t, 100.0, 100.4, 99.8, close, 8.0)


def test_the_ledger_tables_hold_no_in_memory_key(db: Database) -> None:
    assert _keys(db.con) == []


def test_each_prediction_and_outcome_is_stored_once(db: Database) -> None:
    ledger = PredictionLedger(db)
    a, b, c = (_record(p, T0 + i * 60_000) for i, p in enumerate("abc"))
    made_and_resolved = c.resolve(_candle(c.target_open_time, 100.3), at=c.target_time)
    with db.transaction() as con:  # the session's writer: new rows (one already settled)
        ledger.insert_in(con, [a, b, made_and_resolved])
    done = a.resolve(_candle(T0, 99.7), at=T0 + 60_000)
    with db.transaction() as con:  # a later flush: the outcomes of stored rows
        ledger.outcome_in(con, [done, b.expire(T0 + 999_999)])
    assert ledger.counts("s1") == {"pending": 0, "resolved": 2, "expired": 1}
    assert ledger.get("a") == done
    assert ledger.get("c") == made_and_resolved
    assert [r.prediction_id for r in ledger.recent("s1")] == ["c", "b", "a"]
    assert ledger.recent("s1", 1) == [made_and_resolved]
    with db.cursor() as cur:
        for table in ("prediction_rows", "prediction_outcomes", "predictions"):
            n, distinct = cur.execute(
                f"SELECT count(*), count(DISTINCT prediction_id) FROM {table}"
            ).fetchone() or (0, 0)
            assert n == distinct == 3, table


def test_an_upsert_replaces_the_outcome_and_never_duplicates_the_row(db: Database) -> None:
    ledger = PredictionLedger(db)
    a = _record("a", T0)
    ledger.write([a, a])
    ledger.write([a.expire(T0 + 1)])
    later = a.resolve(_candle(T0, 100.3), at=T0 + 2)
    ledger.write([later])
    assert ledger.get("a") == later
    assert ledger.counts() == {"pending": 0, "resolved": 1, "expired": 0}
    assert len(ledger.frame("s1", statuses=("resolved", "expired"))) == 1


def test_a_frame_given_again_is_stored_once_as_first_given(db: Database) -> None:
    frames = FrameStore(db)
    first = _frame("x", T0)
    other_tf = frame_row(first, "1h")
    with db.transaction() as con:  # twice in one batch: the first is kept
        frames.register_in(
            con, [frame_row(first, "1m"), other_tf, frame_row(_frame("y", T0), "1m")]
        )
    frames.register_many([(first, "1h"), (_frame("z", T0 + 60_000), "1m")])  # again, later
    assert frames.count() == 3
    assert frames.timeframe_of("x") == "1m"
    got = frames.get_many(["x", "z", "unknown"])
    assert set(got) == {"x", "z"}
    assert got["x"] == first


def _old_database(path: Path) -> None:
    """A database made before migration 24: the keyed tables, a few rows in them."""
    con = open_at(path, lambda v: v < 24)
    rows = [
        _record("a", T0),
        _record("b", T0 + 60_000).resolve(_candle(T0 + 60_000, 100.3), at=T0 + 120_000),
        _record("c", T0 + 120_000).expire(T0 + 400_000),
    ]
    marks = ", ".join("?" for _ in FIELDS)
    for r in rows:
        con.execute(
            f"INSERT INTO predictions ({', '.join(FIELDS)}) VALUES ({marks})",
            [getattr(r, f) for f in FIELDS],
        )
    con.execute(
        "INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        list(frame_row(_frame("x", T0), "1m")),
    )
    con.close()


def test_a_database_made_before_migrates_with_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _old_database(path)
    con = duckdb.connect(str(path))
    before = con.execute("SELECT * FROM predictions ORDER BY prediction_id").fetchall()
    frames_before = con.execute("SELECT * FROM frames").fetchall()
    con.close()
    with Database(path) as db:
        assert 24 in {
            int(v) for (v,) in db.con.execute("SELECT version FROM schema_migrations").fetchall()
        }
        after = db.con.execute(
            f"SELECT {', '.join(FIELDS)} FROM predictions ORDER BY prediction_id"
        ).fetchall()
        assert after == before
        assert db.con.execute("SELECT * FROM frames").fetchall() == frames_before
        assert _keys(db.con) == []
        ledger = PredictionLedger(db)
        assert ledger.counts() == {"pending": 1, "resolved": 1, "expired": 1}
        assert [r.prediction_id for r in ledger.pending("s1")] == ["a"]
        # and it goes on: the pending one settles once
        with db.transaction() as con2:
            ledger.outcome_in(con2, [_record("a", T0).expire(T0 + 500_000)])
        assert ledger.counts() == {"pending": 0, "resolved": 1, "expired": 2}


def test_a_row_and_its_outcome_come_back_field_for_field(db: Database) -> None:
    """Rows and outcomes are appended column by column in the tables' order: every field,
    each with its own value, reads back where it was written."""
    ledger = PredictionLedger(db)
    with db.cursor() as cur:
        for table, columns in (
            ("prediction_rows", DECISION),
            ("prediction_outcomes", _OUTCOME_ROW),
        ):
            names = [r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall()]
            assert names == list(columns), table
    numbers = iter(range(1, 100))
    values = {
        f: (
            f"{f}-v" if isinstance(v, str) else v if isinstance(v, bool) else type(v)(next(numbers))
        )
        for f, v in zip(FIELDS, astuple(_record("a", T0)), strict=True)
        if v is not None
    }
    made = PredictionRecord(
        **{**values, "prediction_id": "a", "session_id": "s1", "status": PENDING}
    )
    settled = dataclasses.replace(
        made, status=RESOLVED, **{f: float(next(numbers)) for f in _OUTCOME_FLOATS},
        action_correct=True, resolved_at=next(numbers),
    )  # fmt: skip
    with db.transaction() as con:
        ledger.insert_in(con, [made])
    assert ledger.get("a") == made
    with db.transaction() as con:
        ledger.outcome_in(con, [settled])
    assert ledger.get("a") == settled

"""Samples, outcomes, step records and depth rows without a key (migrations 33 and 74).

DuckDB keeps a key or index in memory for every row, for ever; these tables grow with time, so
their one writer keeps them unique instead: a row given twice (in one batch or in two) is
stored once, an update by id touches exactly its row, and a database made before the change
migrates with every row intact. Real DuckDB files, real candles under the samples' frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.frames import FrameRef, make_frame_id
from ghostcandle.domain.samples import NewSample, SampleSource, SampleStatus
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthSnapshot, DepthStore
from ghostcandle.store.id_filters import SMALL
from ghostcandle.store.outcomes import RESULT_FIELDS, OutcomeResults, OutcomeStore, PendingOutcome
from ghostcandle.store.sample_writes import decision_span
from ghostcandle.store.samples import SampleStore
from ghostcandle.store.step_records import StepRecord, StepRecordStore

from .old_schema import open_at

SYM = "ETH/USDT"
M = 60_000
T0 = 1_722_038_400_000  # a midnight
TABLES = ("training_samples", "outcomes", "training_step_records", "depth_snapshots")


def _keys_and_indexes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    tables = {"t": list(TABLES)}
    keys = con.execute(
        "SELECT table_name, constraint_type FROM duckdb_constraints() "
        "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') AND table_name IN (SELECT unnest($t))",
        tables,
    ).fetchall()
    indexes = con.execute(
        "SELECT table_name, index_name FROM duckdb_indexes() "
        "WHERE table_name IN (SELECT unnest($t))",
        tables,
    ).fetchall()
    return [(str(a), str(b)) for a, b in [*keys, *indexes]]


def _candles(db: Database, n: int = 120) -> None:
    df = synthetic_candles(n, "1m", start_ms=T0, seed=3)
    CandleStore(db).write(SYM, "1m", df, provenance=CandleSource.FILE)


def _sample(end_minute: int, label: int = 1) -> NewSample:
    decision = T0 + (end_minute + 1) * M
    windows = (WindowSpec("1m", T0 + end_minute * M, 20),)
    frame = FrameRef(
        frame_id=make_frame_id("test", SYM, decision, windows),
        model="test",
        model_version="1",
        symbol=SYM,
        decision_time=decision,
        windows=windows,
        target_time=decision + M,
    )
    return NewSample(frame, SampleSource.CANDLE, "1m", label)


def _pending(sid: str, minute: int) -> PendingOutcome:
    t = T0 + minute * M
    return PendingOutcome(sid, None, SYM, "1m", t, 5, t + 5 * M, t + 60 * M, "BUY", 0.001)


def _step(run: str, step: int, loss: float) -> StepRecord:
    return StepRecord(
        run_id=run,
        step=step,
        at=T0 + step * M,
        source="session",
        id_kind="frame",
        sample_ids=(f"f{step}",),
        batch_refs={"kind": "frames"},
        losses={"total": loss},
        grad_norms={"all": 1.0},
        learning_rate=1e-3,
        seed=step,
        torch_threads=1,
        deterministic=True,
        hash_before=f"b{step}",
        hash_after=f"a{step}",
        duration_ms=1.5,
    )


def _book(symbol: str, second: int, update_id: int) -> DepthSnapshot:
    return DepthSnapshot(
        symbol, T0 + second * 1000, update_id, ((100.0, 1.0), (99.9, 2.0)), ((100.1, 1.5),)
    )


def _rows(con: duckdb.DuckDBPyConnection, table: str, order: str) -> list[tuple[object, ...]]:
    return con.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()


def test_the_growth_tables_hold_no_key_nor_index(db: Database) -> None:
    assert _keys_and_indexes(db.con) == []


def test_a_sample_given_twice_is_stored_once_as_first_recorded(db: Database) -> None:
    _candles(db)
    store = SampleStore(db)
    first = [_sample(e) for e in range(30, 40)]
    store.record([*first, first[0], first[3]], now=T0 + 1)  # twice in one batch
    again = [first[9], first[2], _sample(41), _sample(25)]  # a wider range, two new
    got = store.record(again, now=T0 + 2)
    with db.transaction() as con:
        verified = store.record_verified_in(con, [first[5], first[5], _sample(42)], now=T0 + 3)
    assert [s.created_at for s in got] == [T0 + 1, T0 + 1, T0 + 2, T0 + 2]
    assert {s.sample_id for s in verified.trainable} == {first[5].sample_id, _sample(42).sample_id}
    with db.cursor() as cur:
        n, distinct = cur.execute(
            "SELECT count(*), count(DISTINCT sample_id) FROM training_samples"
        ).fetchone() or (0, 0)
    assert n == distinct == 13
    assert store.get([first[0].sample_id])[0].created_at == T0 + 1


def test_a_quarantine_and_a_priority_touch_exactly_their_samples(db: Database) -> None:
    _candles(db)
    store = SampleStore(db)
    made = store.record([_sample(e) for e in range(30, 40)], now=T0)
    ids = [s.sample_id for s in made]
    with db.transaction() as con:
        store.quarantine_in(
            con, {ids[3]: "integrity: test"}, now=T0 + 5, within=decision_span(made[3:4])
        )
        store.quarantine_in(con, {ids[7]: "integrity: other"}, now=T0 + 6)  # time not known
        store.set_priorities_in(con, {ids[4]: 0.25}, within=decision_span(made))
        store.set_priorities_in(con, {ids[8]: 4.0})
    after = {s.sample_id: s for s in store.get(ids)}
    for i, sid in enumerate(ids):
        s = after[sid]
        want = {3: "integrity: test", 7: "integrity: other"}.get(i)
        assert (s.status is SampleStatus.QUARANTINED) == (want is not None), i
        assert s.reason == (want or ""), i
        assert s.priority == {4: 0.25, 8: 4.0}.get(i, 1.0), i
    quarantined = store.ids(status=SampleStatus.QUARANTINED)
    assert sorted(quarantined) == sorted([ids[3], ids[7]])


def test_an_outcome_given_twice_is_stored_once_and_finished_once(db: Database) -> None:
    store = OutcomeStore(db)
    a, b, c, d = (_pending(x, i) for i, x in enumerate("abcd"))
    assert store.insert_pending([a, b, a]) == 2
    assert store.insert_pending([b, c, d, c]) == 2
    assert store.counts() == {"pending": 4}
    columns: dict[str, list[Any]] = {
        f: [0.5, 0.25] for f in ("ref_close", "forward_return", "mfe", "mae", "best_profit")
    }
    columns |= {"best_action": ["BUY", "SELL"], "taken_profit": [0.1, np.nan], "unit": [1.0, 1.0]}
    columns |= {"profitability": [1.0, -1.0], "is_profitable": [True, False]}
    columns |= {"rapid_move": [False, False]}
    results = OutcomeResults(["a", "c"], columns)
    span = (T0, T0 + 3 * M)
    with db.transaction() as con:
        assert store.finish_in(con, results, ["b"], at=T0 + 10, validator_id="v", within=span) == 3
    with db.transaction() as con:  # again (a retry): nothing left pending among them
        assert store.finish_in(con, results, ["b"], at=T0 + 11, validator_id="v") == 0
    assert store.counts() == {"validated": 2, "expired": 1, "pending": 1}
    assert (store.get("a") or {})["profitability"] == 1.0
    assert (store.get("c") or {})["best_action"] == "SELL"
    assert (store.get("d") or {})["status"] == "pending"


def test_a_step_recorded_again_replaces_its_row_once(db: Database) -> None:
    store = StepRecordStore(db)
    with db.transaction() as con:  # step 2 twice in one batch: the last is kept
        store.insert_in(con, [_step("r1", 1, 1.0), _step("r1", 2, 2.0), _step("r1", 2, 2.5)])
        store.insert_in(con, [_step("r2", 2, 9.0), _step("r1", 3, 3.0)])
    assert [(r.step, r.losses["total"]) for r in store.for_run("r1")] == [
        (1, 1.0),
        (2, 2.5),
        (3, 3.0),
    ]
    with db.transaction() as con:  # steps 3 and 1 recorded again, step 2 left as it is
        store.insert_in(con, [_step("r1", 3, 3.5), _step("r1", 1, 1.25)])
    assert [(r.step, r.losses["total"]) for r in store.for_run("r1")] == [
        (1, 1.25),
        (2, 2.5),
        (3, 3.5),
    ]
    assert [r.losses["total"] for r in store.for_run("r2")] == [9.0]
    assert (store.get("r1:2") or _step("x", 0, 0.0)).losses == {"total": 2.5}
    assert store.get("r1:x") is None
    assert store.get("r9:2") is None
    with db.transaction() as con:
        assert store.forget_after_in(con, "r1", 1) == 2
    assert store.count("r1") == 1
    assert store.count("r2") == 1


def test_a_book_given_twice_is_stored_once_as_first_given(db: Database) -> None:
    store = DepthStore(db)
    assert store.write([_book(SYM, 0, 1), _book(SYM, 1, 2), _book(SYM, 0, 3)]) == 3
    store.write([_book(SYM, 1, 4), _book(SYM, 2, 5), _book("BTC/USDT", 1, 6)])
    assert [s.last_update_id for s in store.read(SYM)] == [1, 2, 5]
    assert store.count() == 4
    assert store.count("BTC/USDT") == 1


def _old_database(path: Path) -> None:
    """A database made before migrations 33 and 74: the keyed tables, rows in them."""
    con = open_at(path, lambda v: v not in (33, 74))
    for i in (2, 0, 1):
        t = T0 + i * M
        con.execute(
            "INSERT INTO training_samples VALUES "
            "(?, ?, 'candle', '', ?, '1m', ?, 1, '{}', 1.5, 'ok', '', 1.0, '{}', 0, '{}', ?, ?)",
            [f"s{i}", f"f{i}", SYM, t, t + 1, t + 1],
        )
        con.execute(
            "INSERT INTO outcomes (sample_id, frame_id, symbol, timeframe, decision_time, horizon, "
            "known_at, expires_at, action_taken, cost, status, created_at, profitability) "
            "VALUES (?, NULL, ?, '1m', ?, 5, ?, ?, 'BUY', 0.001, ?, ?, ?)",
            [f"s{i}", SYM, t, t + 5 * M, t + 60 * M, "validated" if i else "pending", t, i / 2],
        )
        con.execute(
            "INSERT INTO training_step_records VALUES (?, 'r1', ?, ?, 'session', 'frame', "
            "['f1'], '{}', '{}', '{}', NULL, NULL, 1, true, 'b', 'a', 2.0)",
            [f"r1:{i + 1}", i + 1, t],
        )
        con.execute(
            "INSERT INTO depth_snapshots (symbol, time, last_update_id, bid_price, bid_qty, "
            "ask_price, ask_qty, source, best_bid, trades) "
            "VALUES (?, ?, ?, [100.0], [1.0], [100.1], [2.0], 'test', 100.0, ?)",
            [SYM, T0 + i * 1000, i, i],
        )
    con.close()


_ORDER = {
    "training_samples": "sample_id",
    "outcomes": "sample_id",
    "training_step_records": "step_id",
    "depth_snapshots": "symbol, time",
}


def test_a_database_made_before_migrates_with_every_row_and_no_key(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _old_database(path)
    con = duckdb.connect(str(path))
    assert len(_keys_and_indexes(con)) == 5  # four keys and the step records' index
    before = {t: _rows(con, t, o) for t, o in _ORDER.items()}
    columns = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_name IN (SELECT unnest($t)) ORDER BY ALL",
        {"t": list(TABLES)},
    ).fetchall()
    con.close()
    with Database(path) as db:
        assert {33, 74} <= {
            int(v) for (v,) in db.con.execute("SELECT version FROM schema_migrations").fetchall()
        }
        assert _keys_and_indexes(db.con) == []
        assert {t: _rows(db.con, t, o) for t, o in _ORDER.items()} == before
        assert (
            db.con.execute(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_name IN (SELECT unnest($t)) "
                "ORDER BY ALL",
                {"t": list(TABLES)},
            ).fetchall()
            == columns
        )
        # the rows are in time order, and each writer still knows them
        times = db.con.execute("SELECT decision_time FROM training_samples").fetchall()
        assert times == sorted(times)
        assert OutcomeStore(db).insert_pending([_pending("s1", 1), _pending("s9", 9)]) == 1
        DepthStore(db).write([_book(SYM, 2, 99)])
        assert [s.last_update_id for s in DepthStore(db).read(SYM)] == [0, 1, 2]
        with db.transaction() as con2:
            StepRecordStore(db).insert_in(con2, [_step("r1", 2, 7.0)])
        assert [r.losses for r in StepRecordStore(db).for_run("r1")] == [{}, {"total": 7.0}, {}]


def test_a_backfills_batch_past_the_filters_size_is_kept_the_same(db: Database) -> None:
    # more ids than ``id_filters.SMALL``: looked up through a hash table, same results
    big = SMALL + 6
    store = OutcomeStore(db)
    rows = [_pending(f"o{i}", i) for i in range(2 * big + 10)]
    assert store.insert_pending(rows[:big]) == big
    assert store.insert_pending(rows) == big + 10  # the stored ones kept, the rest new
    done = [r.sample_id for r in rows[:big]]
    columns: dict[str, list[Any]] = {f: [0.5] * big for f in RESULT_FIELDS}
    columns |= {"best_action": ["BUY"] * big, "taken_profit": [np.nan] * big}
    columns |= {"is_profitable": [True] * big, "rapid_move": [False] * big}
    results = OutcomeResults(done, columns)
    expired = [r.sample_id for r in rows[big : 2 * big]]
    with db.transaction() as con:
        got = store.finish_in(con, results, expired, at=T0, validator_id="v")
    assert got == 2 * big
    assert store.counts() == {"validated": big, "expired": big, "pending": 10}
    assert (store.get("o0") or {})["taken_profit"] is None
    _candles(db)
    samples = SampleStore(db)
    made = samples.record([_sample(e) for e in range(20, 20 + big + 4)], now=T0)
    ids = [s.sample_id for s in made]
    with db.transaction() as con:
        samples.quarantine_in(con, dict.fromkeys(ids[:big], "integrity: test"), now=T0 + 5)
        samples.set_priorities_in(con, dict.fromkeys(ids[4:], 2.0), within=decision_span(made))
    after = samples.get(ids)
    assert [s.sample_id for s in after] == ids
    assert [s.status is SampleStatus.QUARANTINED for s in after] == [True] * big + [False] * 4
    assert [s.priority for s in after] == [1.0] * 4 + [2.0] * big
    assert all(s.frame.windows == made[i].frame.windows for i, s in enumerate(after))

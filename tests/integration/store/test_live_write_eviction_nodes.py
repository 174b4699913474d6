"""A live session's writes (samples, outcomes, candles, steps, ...) leave no hash table's nodes.

A join, ``NOT EXISTS``, ``IN (SELECT ...)`` or ``UPDATE ... FROM`` builds a hash table, and its
buffers' nodes go to DuckDB's managed-buffer eviction queues past the first (``queue_index``
2 and up), which keep every node until ~32k of them: in a 5-minute ``serve`` with a live session
each of those queues still held all it was given, while queue 1 (the blocks re-pinned) held
~4k of 3M. So these count the nodes given to queues 2 and up, per write, against the same
rows written by plain statements (the floor), measured in the same test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.events import RapidMoveEvent
from ghostcandle.domain.feed_health import FeedHealth
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.sample_quality import SampleQuality
from ghostcandle.domain.samples import NewSample, SampleSource, SampleStatus
from ghostcandle.store.candle_records import REPLACE, SAME, candle_table
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.feed_status import FeedStatusStore
from ghostcandle.store.frames import frame_row
from ghostcandle.store.id_filters import SMALL
from ghostcandle.store.outcomes import (
    PENDING_FIELDS,
    RESULT_FIELDS,
    OutcomeResults,
    OutcomeStore,
    PendingOutcome,
)
from ghostcandle.store.rapid_moves import RapidMoveStore
from ghostcandle.store.sample_rows import COLUMNS, sample_from_new, sample_table
from ghostcandle.store.sample_writes import SampleWrites
from ghostcandle.store.samples import SampleStore
from ghostcandle.store.step_records import StepRecord, StepRecordStore

from .test_write_eviction_nodes import per_write

T0 = 1_700_000_000_000
WRITES = 150


def _per_write(db: Database, write: Callable[[int], object]) -> float:
    """Nodes a write leaves in the queues that keep them (index 2 and up; queue 1 purges)."""
    return per_write(db, write, first_queue=2, writes=WRITES)


def _pending(t: int) -> list[PendingOutcome]:
    return [
        PendingOutcome(
            f"s{t}-{k}", f"f{t}", "ETH/USDT", "1s", t, 5, t + 5000, t + 60_000, "BUY", 0.0
        )
        for k in range(3)
    ]


def pending_rows(t: int, n: int) -> list[PendingOutcome]:
    """Return ``n`` pending outcomes decided at ``t`` (ids ``s<t>-<k>``)."""
    return [
        PendingOutcome(f"s{t}-{k}", f"f{t}", "ETH/USDT", "1s", t, 5, t + 5000, t + 60_000,
                       "BUY", 0.0)
        for k in range(n)
    ]  # fmt: skip


def _results(ids: list[str]) -> OutcomeResults:
    cols: dict[str, list[object]] = {f: [0.25] * len(ids) for f in RESULT_FIELDS}
    cols |= {"best_action": ["BUY"] * len(ids), "taken_profit": [float("nan")] * len(ids)}
    cols |= {"is_profitable": [True] * len(ids), "rapid_move": [False] * len(ids)}
    return OutcomeResults(ids, cols)


def test_a_ticks_outcome_writes_cost_no_more_nodes_than_plain_statements(tmp_path: Path) -> None:
    cols = ", ".join(PENDING_FIELDS)
    with Database(tmp_path / "a.duckdb") as floor_db, Database(tmp_path / "b.duckdb") as db:

        def plain(t: int) -> None:
            # the new rows appended, then each flipped by its own id
            values = ", ".join(["?"] * len(PENDING_FIELDS))
            with floor_db.transaction() as con:
                for r in _pending(t):
                    con.execute(
                        f"INSERT INTO outcomes ({cols}) VALUES ({values})",
                        [getattr(r, f) for f in PENDING_FIELDS],
                    )
                for k in range(3):
                    con.execute(
                        "UPDATE outcomes SET status = 'validated', ref_close = 0.25 "
                        "WHERE decision_time BETWEEN $t AND $t AND sample_id = $id",
                        {"t": t, "id": f"s{t}-{k}"},
                    )

        floor = _per_write(floor_db, plain)
        store = OutcomeStore(db)

        def write(t: int) -> None:
            # a tick's pending outcomes (and one of the previous tick's again, kept), then the
            # validator's page: two validated, one expired
            new = store.insert_pending([*_pending(t), *_pending(t - 1000)[:1]])
            assert new == (4 if t == T0 else 3)  # the first write's older one is new too
            with db.transaction() as con:
                got = store.finish_in(
                    con, _results([f"s{t}-0", f"s{t}-1"]), [f"s{t}-2"], at=t, validator_id="v",
                    within=(t, t),
                )  # fmt: skip
            assert got == 3

        got = _per_write(db, write)
        counts = store.counts()
    assert counts == {"validated": 2 * WRITES, "expired": WRITES, "pending": 1}
    assert got <= floor + 0.5, (got, floor)


def _new_samples(t: int) -> list[NewSample]:
    # a frame without windows: recorded, then quarantined (its frame reads as not stored)
    frame = FrameRef(f"fr{t}", "m", "v1", "ETH/USDT", t, ())
    return [NewSample(frame, SampleSource.CANDLE, "1s", k) for k in range(3)]


def test_a_ticks_sample_record_costs_no_more_nodes_than_its_append(tmp_path: Path) -> None:
    names = ", ".join(COLUMNS)
    with Database(tmp_path / "a.duckdb") as floor_db, Database(tmp_path / "b.duckdb") as db:

        def append(t: int) -> None:
            # the range's stored rows read, the new ones appended, each quarantined by its id
            items = _new_samples(t)
            quality = SampleQuality(1.0)
            made = [sample_from_new(s, s.frame, SampleStatus.OK, "", quality, t) for s in items]
            with floor_db.transaction() as con:
                for table in ("training_samples", "frames"):
                    con.execute(
                        f"SELECT * FROM {table} WHERE decision_time BETWEEN $t - 1000 AND $t",
                        {"t": t},
                    ).fetchall()
            with floor_db.transaction() as con:
                row = frame_row(items[0].frame, "1s")
                con.execute(f"INSERT INTO frames VALUES ({', '.join(['?'] * len(row))})", row)
                con.from_arrow(sample_table(made)).select(names).insert_into("training_samples")
                for s in made:
                    con.execute(
                        "UPDATE training_samples SET status = 'quarantined', reason = 'r' "
                        "WHERE decision_time BETWEEN $t AND $t AND sample_id = $id",
                        {"t": t, "id": s.sample_id},
                    )

        floor = _per_write(floor_db, append)
        store = SampleStore(db)

        def write(t: int) -> None:
            # as a live tick: judged (one of the previous tick's again), then written
            plan = SampleWrites()
            with db.transaction() as con:
                items = [*_new_samples(t), *_new_samples(t - 1000)[:1]]
                store.record_verified_in(con, items, now=t, plan=plan, unwritten={})
            with db.transaction() as con:
                store.write_in(con, plan)

        got = _per_write(db, write)
        stored = db.con.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'quarantined') FROM training_samples"
        ).fetchone()
    assert stored == (3 * WRITES + 1, 3 * WRITES + 1)  # and the first write's older one
    assert got <= floor + 0.5, (got, floor)


def test_a_feeds_status_save_costs_no_more_nodes_than_an_update(tmp_path: Path) -> None:
    def health(t: int) -> FeedHealth:
        return FeedHealth("sim", "binance", "ws://x", t, True, t, 0, 0, 0, 0, (t - T0) // 1000)

    with Database(tmp_path / "a.duckdb") as floor_db, Database(tmp_path / "b.duckdb") as db:
        FeedStatusStore(floor_db).save(health(T0 - 1000))

        def update(t: int) -> None:
            with floor_db.transaction() as con:
                con.execute(
                    "UPDATE feed_status SET detail = $d, updated_at = $t WHERE feed = 'sim'",
                    {"d": str(t), "t": t},
                )

        floor = _per_write(floor_db, update)
        store = FeedStatusStore(db)
        got = _per_write(db, lambda t: store.save(health(t)))
        saved = store.all()
    assert [h.to_json() for h in saved] == [health(T0 + (WRITES - 1) * 1000).to_json()]
    assert got <= floor + 0.5, (got, floor)


def test_a_feeds_classified_candle_write_costs_no_more_nodes_than_its_append(
    tmp_path: Path,
) -> None:
    def candle(t: int, close: float) -> Candle:
        return Candle("ETH/USDT", "1s", t, 10.0, 11.0, 9.0, close, 1.0)

    def stored_before(store: CandleStore, t: int) -> None:
        # the candle at t stored incomplete (a rollup's part), and the one before complete
        rows = pd.DataFrame(
            {"open_time": [t - 1000, t], "open": 10.0, "high": 11.0, "low": 9.0, "close": 10.5}
        ).assign(volume=1.0, n_parts=[1, 1], complete=[True, False])
        store.write("ETH/USDT", "1s", rows, provenance=CandleSource.FILE)

    with Database(tmp_path / "a.duckdb") as floor_db, Database(tmp_path / "b.duckdb") as db:
        floor_store, store = CandleStore(floor_db), CandleStore(db)
        for i in range(WRITES):
            stored_before(floor_store, T0 + 2000 * i)
            stored_before(store, T0 + 2000 * i)

        def append(t: int) -> None:
            t = T0 + 2 * (t - T0)
            rows = candle_table([candle(t, 10.75)], "feed", CandleSource.WEBSOCKET)
            with floor_db.transaction() as con:
                con.execute(
                    "SELECT * FROM candles WHERE open_time BETWEEN $lo AND $t",
                    {"lo": t - 1000, "t": t},
                ).fetchall()
                con.execute("DELETE FROM candles WHERE open_time = $t", {"t": t})
                con.from_arrow(rows).insert_into("candles")

        floor = _per_write(floor_db, append)

        def write(t: int) -> None:
            # the complete candle replaces its stored part; the one before comes again (same)
            t = T0 + 2 * (t - T0)
            got = store.write_many(
                [candle(t - 1000, 10.5), candle(t, 10.75)], provenance=CandleSource.WEBSOCKET
            )
            assert got == [SAME, REPLACE]

        got = _per_write(db, write)
        closes = db.con.execute("SELECT count(*), sum(close) FROM candles").fetchone()
    assert closes == (2 * WRITES, WRITES * (10.5 + 10.75))
    assert got <= floor + 0.5, (got, floor)


def test_a_candles_rapid_move_write_costs_no_more_nodes_than_its_insert(tmp_path: Path) -> None:
    def event(t: int) -> RapidMoveEvent:
        return RapidMoveEvent("ETH/USDT", "1s", "velocity", t, t + 1000, 0.5, 0.1, 1)

    fields = ("symbol", "timeframe", "kind", "open_time", "detected_at", "value", "threshold")
    names = ", ".join((*fields, "direction"))
    with Database(tmp_path / "a.duckdb") as floor_db, Database(tmp_path / "b.duckdb") as db:

        def insert(t: int) -> None:
            e = event(t)
            with floor_db.transaction() as con:
                con.execute(
                    f"INSERT INTO rapid_moves ({names}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [*(getattr(e, f) for f in fields), e.direction],
                )

        floor = _per_write(floor_db, insert)
        store = RapidMoveStore(db)
        # each write also brings the previous candle's event again (kept as stored)
        got = _per_write(db, lambda t: store.write([event(t), event(t - 1000)]))
        stored = db.con.execute("SELECT count(*) FROM rapid_moves").fetchone()
    assert stored == (WRITES + 1,)
    assert got <= floor + 0.5, (got, floor)


def test_a_sessions_step_record_costs_no_more_nodes_than_its_append(tmp_path: Path) -> None:
    def record(step: int) -> StepRecord:
        return StepRecord(
            "run", step, T0 + step, "session", "frame", (f"f{step}",), {}, {"total": 0.5},
            {"all": 1.0}, 1e-3, step, 1, True, f"b{step}", f"a{step}", 1.5,
        )  # fmt: skip

    with Database(tmp_path / "a.duckdb") as floor_db, Database(tmp_path / "b.duckdb") as db:
        store = StepRecordStore(db)

        def append(t: int) -> None:
            # the same rows: the steps' stored rows deleted by a plain filter, then inserted
            step = (t - T0) // 1000
            with floor_db.transaction() as con:
                con.execute(
                    "DELETE FROM training_step_records WHERE run_id = 'run' "
                    "AND step BETWEEN $s - 1 AND $s",
                    {"s": step},
                )
                for s in (step - 1, step) if step else (0,):
                    r = record(s)
                    con.execute(
                        "INSERT INTO training_step_records (step_id, run_id, step, at_time, "
                        "source, id_kind, sample_ids, batch_refs, losses, grad_norms, "
                        "learning_rate, seed, torch_threads, deterministic, hash_before, "
                        "hash_after, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?, "
                        "?, ?, ?, ?, ?)",
                        [r.step_id, r.run_id, r.step, r.at, r.source, r.id_kind,
                         list(r.sample_ids), '{"total": 0.5}', '{"all": 1.0}', r.learning_rate,
                         r.seed, r.torch_threads, r.deterministic, r.hash_before, r.hash_after,
                         r.duration_ms],
                    )  # fmt: skip

        floor = _per_write(floor_db, append)

        def write(t: int) -> None:
            # a step, and the one before again (a resumed run redoes it: replaced)
            step = (t - T0) // 1000
            with db.transaction() as con:
                store.insert_in(con, [record(step), record(step - 1)] if step else [record(0)])

        got = _per_write(db, write)
        assert store.count("run") == WRITES
    assert got <= floor + 0.5, (got, floor)


@pytest.mark.parametrize("n", [3, 20, SMALL])
def test_a_few_string_ids_are_found_without_nodes(tmp_path: Path, n: int) -> None:
    """``list_contains`` over five or more strings took ~25-33 nodes a query (planned with
    buffers of its own); ``id_filters`` finds a few ids by equalities (``among``) and five or
    more by the rows near their decision times (``near_ids``), neither with a node."""

    def rows(t: int) -> list[PendingOutcome]:
        return pending_rows(t, n)

    with Database(tmp_path / "a.duckdb") as db:
        store = OutcomeStore(db)
        for i in range(WRITES):
            store.insert_pending(rows(T0 + i * 1000))

        def plain(t: int) -> None:
            with db.cursor() as cur:
                cur.execute(
                    "SELECT sample_id FROM outcomes WHERE decision_time BETWEEN $t AND $t",
                    {"t": t},
                ).fetchall()

        def again(t: int) -> None:
            # every row is stored already: found among the range's rows, none written
            assert store.insert_pending(rows(t)) == 0

        floor = _per_write(db, plain)
        got = _per_write(db, again)
        assert store.counts() == {"pending": n * WRITES}
    assert got <= floor + 0.5, (got, floor)

"""A live batch's outcomes and samples (past ``SMALL`` ids, up to ``CHUNKED``) leave no hash
table's nodes: they are matched ``SMALL`` ids a statement (``id_filters.pieces``).

In a ``serve`` at 30x the training-data system's batches (a trained batch's samples, a page of
due outcomes) passed ``SMALL`` ids, and their ``NOT EXISTS``, ``IN (SELECT unnest(...))`` and
``UPDATE ... FROM`` gave ~70% of the nodes left in DuckDB's eviction queues 2 and up (counted per
statement). Counted here as in ``test_live_write_eviction_nodes``, against plain reads of the
same ranges (the floor, same database).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.samples import NewSample, SampleSource
from ghostcandle.store.db import Database
from ghostcandle.store.id_filters import CHUNKED, SMALL, pieces
from ghostcandle.store.outcomes import OutcomeStore, PendingOutcome
from ghostcandle.store.sample_writes import SampleWrites
from ghostcandle.store.samples import SampleStore

from .test_live_write_eviction_nodes import _results, pending_rows
from .test_write_eviction_nodes import per_write

WRITES = 30


def _nodes_per_write(db: Database, write: Callable[[int], object]) -> float:
    return per_write(db, write, first_queue=2, writes=WRITES)


def _floor(db: Database, table: str) -> float:
    def plain(t: int) -> None:
        with db.cursor() as cur:
            cur.execute(
                f"SELECT * FROM {table} WHERE decision_time BETWEEN $t AND $t", {"t": t}
            ).fetchall()

    return _nodes_per_write(db, plain)


def test_pieces_cover_every_id_once_in_order() -> None:
    for n in (0, 1, SMALL, SMALL + 1, 3 * SMALL + 5, CHUNKED, CHUNKED + 1):
        ids = [f"id{i}" for i in range(n)]
        got = pieces(ids)
        assert [i for p in got for i in p] == ids
        assert len(got) == (1 if n <= SMALL or n > CHUNKED else -(-n // SMALL))


@pytest.mark.parametrize("n", [SMALL + 1, 200, CHUNKED])
def test_a_batch_of_outcomes_is_written_and_finished_without_nodes(tmp_path: Path, n: int) -> None:
    def rows(t: int) -> list[PendingOutcome]:
        return pending_rows(t, n)

    with Database(tmp_path / "a.duckdb") as db:
        store = OutcomeStore(db)
        for i in range(WRITES):
            assert store.insert_pending(rows(1_700_000_000_000 + i * 1000)[: n // 2]) == n // 2
        floor = _floor(db, "outcomes")

        def write(t: int) -> None:
            # half stored already, half new; then validated but for ten, which expire
            assert store.insert_pending(rows(t)) == n - n // 2
            ids = [r.sample_id for r in rows(t)]
            with db.transaction() as con:
                got = store.finish_in(
                    con, _results(ids[:-10]), ids[-10:], at=t, validator_id="v", within=(t, t)
                )
            assert got == n

        got = _nodes_per_write(db, write)
        assert store.counts() == {"validated": (n - 10) * WRITES, "expired": 10 * WRITES}
        done = db.con.execute(
            "SELECT count(*) FROM outcomes WHERE status = 'validated' AND ref_close = 0.25"
        ).fetchone()
    assert done == ((n - 10) * WRITES,)  # each row's figures, not a neighbour's
    assert got <= floor + 0.5, (got, floor)


def test_a_batch_of_samples_is_recorded_and_read_back_without_nodes(tmp_path: Path) -> None:
    n = 200

    # a frame without windows: recorded, then quarantined by an update of every sample
    def items(t: int) -> list[NewSample]:
        frame = FrameRef(f"fr{t}", "m", "v1", "ETH/USDT", t, ())
        return [NewSample(frame, SampleSource.CANDLE, "1s", 1, origin=f"o{k}") for k in range(n)]

    with Database(tmp_path / "a.duckdb") as db:
        store = SampleStore(db)
        floor = _floor(db, "training_samples")

        def write(t: int) -> None:
            # judged (read back, none stored yet), written, then judged again: all stored
            for _ in range(2):
                plan = SampleWrites()
                with db.transaction() as con:
                    store.record_verified_in(con, items(t), now=t, plan=plan, unwritten={})
                with db.transaction() as con:
                    store.write_in(con, plan)

        got = _nodes_per_write(db, write)
        stored = db.con.execute("SELECT count(DISTINCT sample_id) FROM training_samples").fetchone()
    assert stored == (n * WRITES,)
    assert got <= floor + 0.5, (got, floor)

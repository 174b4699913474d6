"""Recording samples and reading them back verified in one transaction answers as two steps do.

A learning session records each batch's samples and reads them back verified before training
(``SessionSamples.vet``); ``record_verified_in`` does both in its one transaction and reads the
rows once. Two identical real DuckDB files, one per way, must store and answer the same for
every kind of sample: new and trainable, new and excluded (gappy), new with a stale hash, stored
before and unchanged, stored before under a candle changed since, stored quarantined.
"""

from __future__ import annotations

from pathlib import Path

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.samples import NewSample, SampleSource
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.store.db import Database
from ghostcandle.store.samples import Verified

from .test_sample_registry import SYMBOL, T0, M, _frame, _store_minutes


def _stale(end_minute: int) -> FrameRef:
    return FrameRef(**{**_frame(end_minute).__dict__, "input_hash": "0" * 64})


def _prepare(path: Path) -> tuple[Database, SampleRegistry]:
    """Candles with a gap, three samples stored before, then a candle under one changed."""
    db = Database(path)
    _store_minutes(db, 160, drop=(50, 51, 52, 70, 71, 72, 73, 74))
    registry = SampleRegistry(db, ReplayClock(T0))
    registry.record_many(
        [
            NewSample(_frame(100), SampleSource.CANDLE, "1m", 1),  # stays as stored
            NewSample(_frame(120), SampleSource.CANDLE, "1m", 2),  # its candle changes below
            NewSample(_stale(130), SampleSource.CANDLE, "1m", 0),  # quarantined when recorded
        ]
    )
    with db.transaction() as con:
        con.execute(
            "UPDATE candles SET close = close * 1.01 WHERE symbol = ? AND timeframe = '1m' "
            "AND open_time = ?",
            [SYMBOL, T0 + 115 * M],
        )
    return db, registry


def _batch() -> list[NewSample]:
    return [
        NewSample(_frame(100), SampleSource.CANDLE, "1m", 1),
        NewSample(_frame(140), SampleSource.PIVOT, "1m", 2),  # new, trainable
        NewSample(_frame(120), SampleSource.CANDLE, "1m", 2),
        NewSample(_frame(79), SampleSource.PIVOT, "1m", 0),  # new, 22/30 complete: excluded
        NewSample(_stale(150), SampleSource.PIVOT, "1m", 1),  # new with a stale hash
        NewSample(_stale(130), SampleSource.CANDLE, "1m", 0),
        NewSample(_frame(140), SampleSource.PIVOT, "1m", 2),  # asked twice
    ]


def _answer(got: Verified) -> dict[str, list[tuple[str, str]]]:
    kinds = ("trainable", "quarantined", "held", "excluded")
    out = {k: [(s.sample_id, s.reason) for s in getattr(got, k)] for k in kinds}
    return {**out, "missing": [(i, "") for i in got.missing]}


def _stored(db: Database) -> list[tuple[str, str, str, int]]:
    with db.cursor() as cur:
        rows = cur.execute(
            "SELECT sample_id, status, reason, created_at FROM training_samples ORDER BY sample_id"
        ).fetchall()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]


def test_record_verified_in_answers_and_stores_as_record_then_read(tmp_path: Path) -> None:
    now = T0 + 200 * M
    two_db, two = _prepare(tmp_path / "two_steps.duckdb")
    one_db, one = _prepare(tmp_path / "one_transaction.duckdb")
    with two_db.transaction() as con:
        two.record_in(con, _batch(), at=now)
    expected = two.read([s.sample_id for s in _batch()])
    with one_db.transaction() as con:
        got = one.record_verified_in(con, _batch(), at=now)
    answer = _answer(got)
    assert answer == _answer(expected)
    assert _stored(one_db) == _stored(two_db)
    assert one.counts == two.counts
    # every kind is there, so the comparison covers each way a sample can be filed
    assert all(answer[k] for k in ("trainable", "quarantined", "held", "excluded"))
    # a batch of new samples (a session's usual one) has its rows read once, not again
    reads = one.store.rows.reads
    with one_db.transaction() as con:
        new = one.record_verified_in(
            con, [NewSample(_frame(145), SampleSource.PIVOT, "1m", 1)], at=now
        )
    assert len(new.trainable) == 1
    assert one.store.rows.reads == reads + 1

"""A session's sample keeping, committed once per flush, stores the rows per-step keeping would.

Real sessions (``every_candle`` with confirmed pivots, synchronous training) on real DuckDB
files: the training samples and outcomes of a session flushing every 50 events equal those of
the same session flushing every event, and equal what the registry's plain path (one
transaction per batch: ``record_many`` then ``enqueue``) stores for the same examples at the
same times. No sample or outcome is stored twice (the tables have no key), a pivot's samples
ride in the candle batches, and a rerun with the same seed stores the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.events import Pivot, PivotEvent, candle_topic, pivot_topic
from ghostcandle.domain.samples import NewSample
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.samples.outcomes import OutcomeRequest, OutcomeValidator
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database
from ghostcandle.store.outcomes import PENDING_FIELDS, RESULT_FIELDS
from ghostcandle.store.samples import SampleStore
from ghostcandle.store.sessions import SessionStore

from .conftest import START, SYM, fill, small_config

END = START + 36 * MINUTE_MS
#: outcome columns that depend on the candles and the sample alone (not on when a thread ran)
OUTCOME_COLUMNS = ", ".join(f for f in (*PENDING_FIELDS, *RESULT_FIELDS))


def _session(path: Path, flush_every: int) -> tuple[Database, int]:
    """Run the session on a new market at ``path``; return its database and its stop time."""
    db = Database(path)
    fill(db)
    clock, bus = ReplayClock(START), MessageBus()
    cfg = small_config("kept", mode="every_candle", flush_every=flush_every)
    s = LoopSession(db, cfg, bus, clock, checkpoint_dir=str(path) + ".ckpt").start()
    for ev in replay_events(s.candles, [SYM], ["1m", "1h"], START, END):
        clock.advance_to(ev.time)
        bus.publish(candle_topic(ev.symbol, ev.timeframe), ev)
        k = (ev.candle.open_time - START) // MINUTE_MS
        if ev.timeframe == "1m" and k >= 5 and k % 4 == 1:  # a pivot 3 candles back, confirmed
            pivot_open = ev.candle.open_time - 3 * MINUTE_MS
            kind = "L" if k % 8 == 1 else "H"
            p = Pivot(SYM, "1m", pivot_open, 3000.0, f"L1{kind}", 1, 1.0, clock.now_ms())
            bus.publish(pivot_topic(SYM, "1m"), PivotEvent(SYM, "1m", p))
    s.stop()
    return db, clock.now_ms()


def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    with db.cursor() as cur:
        return [tuple(r) for r in cur.execute(sql).fetchall()]


def _samples(db: Database) -> list[tuple[Any, ...]]:
    return _rows(db, "SELECT * FROM training_samples ORDER BY sample_id")


def _outcomes(db: Database) -> list[tuple[Any, ...]]:
    return _rows(db, f"SELECT {OUTCOME_COLUMNS} FROM outcomes ORDER BY sample_id")


def _oracle(path: Path, kept: Database, stopped: int) -> Database:
    """Store the same examples at the same times through the plain per-batch path."""
    db = Database(path)
    fill(db)
    stored = SampleStore(kept).get(
        [str(r[0]) for r in _rows(kept, "SELECT sample_id FROM training_samples")]
    )
    by_time: dict[int, list[NewSample]] = {}
    for s in stored:
        item = NewSample(s.frame, s.source, s.timeframe, s.label)
        by_time.setdefault(s.created_at, []).append(item)
    for at, items in sorted(by_time.items()):
        clock = ReplayClock(at)
        SampleRegistry(db, clock).record_many(items, at=at)
        OutcomeValidator(db, clock=clock).enqueue(
            [
                OutcomeRequest(
                    n.sample_id, n.frame.symbol, n.timeframe, n.frame.decision_time,
                    frame_id=n.frame.frame_id,
                )
                for n in items
            ]
        )  # fmt: skip
    OutcomeValidator(db, clock=ReplayClock(stopped)).run_due(stopped)
    return db


def test_rows_of_a_flush_are_the_rows_of_each_step(tmp_path: Path) -> None:
    batched, stopped = _session(tmp_path / "batched.duckdb", flush_every=50)
    each, stopped_each = _session(tmp_path / "each.duckdb", flush_every=1)
    again, _ = _session(tmp_path / "again.duckdb", flush_every=50)
    samples, outcomes = _samples(batched), _outcomes(batched)
    sources = {
        r[0]: n
        for r in _rows(batched, "SELECT source, count(*) FROM training_samples GROUP BY 1")
        for n in [r[1]]
    }
    assert sources.keys() == {"candle", "pivot"}
    # each sample and each outcome once
    ids = [r[0] for r in samples]
    assert len(ids) == len(set(ids)) == len(outcomes) == len({r[0] for r in outcomes})
    # a pivot's samples trained in the candle batches (no step of its own)
    steps = SessionStore(batched).steps("kept")
    assert {st.reason for st in steps} == {"candle"}
    pivot_frames = {
        r[0] for r in _rows(batched, "SELECT frame_id FROM training_samples WHERE source = 'pivot'")
    }
    assert pivot_frames <= {f for st in steps for f in st.frame_ids}
    # the same rows, flushed every event, and on a rerun
    assert stopped == stopped_each
    assert _samples(each) == samples
    assert _outcomes(each) == outcomes
    assert _samples(again) == samples
    assert _outcomes(again) == outcomes
    # and what the plain path stores for the same examples at the same times
    oracle = _oracle(tmp_path / "oracle.duckdb", batched, stopped)
    assert _samples(oracle) == samples
    assert _outcomes(oracle) == outcomes
    assert "validated" in {r[PENDING_FIELDS.index("status")] for r in outcomes}
    for db in (batched, each, again, oracle):
        db.close()

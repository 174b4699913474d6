"""Tables that grow with time: DuckDB's memory and the writer's batch; print ONE JSON line.

Records ``GC_BENCH_SAMPLES`` (default 500,000) training samples with their pending outcomes,
``BATCH`` at a time, as a session's sample keeping does (``SampleStore.record_in`` then
``OutcomeStore.insert_pending_in`` in one transaction; frames of 20 1m candles, one a minute),
on a real DuckDB file. Reported:

- ``memory_mb``: ``duckdb_memory()`` after the writes (and ``index_mb``, its ART-index part;
  a key held one entry per row, never evicted), with ``memory_limit`` set high so neither run
  fails; ``rss_mb`` of the process;
- ``batch_ms_first`` / ``batch_ms_last``: median time of the first and last 20 batches (what a
  batch costs on an empty table and on a full one), beside ``floor_batch_ms``: the same rows'
  plain ``INSERT`` into scratch tables without key, measured in the same run;
- ``get_by_id_ms``: ``SampleStore.get`` of one id by a caller that does not know its time
  (scans the ``sample_id`` column), ``outcome_get_ms`` the same for ``OutcomeStore.get``.

Usage: ``python bench/bench_growth_tables.py`` (a few minutes for 500,000 samples).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.frames import FrameRef, make_frame_id
from ghostcandle.domain.samples import NewSample, SampleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.outcomes import PENDING_FIELDS, OutcomeStore, PendingOutcome
from ghostcandle.store.sample_rows import COLUMNS, sample_table
from ghostcandle.store.samples import SampleStore

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_704_067_200_000
BATCH = 1_000
SHOWN = 20


def _sample(minute: int) -> NewSample:
    decision = T0 + (minute + 1) * M
    windows = (WindowSpec("1m", T0 + minute * M, 20),)
    frame = FrameRef(
        frame_id=make_frame_id("bench", SYMBOL, decision, windows),
        model="bench",
        model_version="1",
        symbol=SYMBOL,
        decision_time=decision,
        windows=windows,
        target_time=decision + M,
    )
    return NewSample(frame, SampleSource.CANDLE, "1m", minute % 3)


def _pending(s: NewSample, now: int) -> PendingOutcome:
    t = s.frame.decision_time
    return PendingOutcome(
        s.sample_id, s.frame.frame_id, SYMBOL, "1m", t, 5, t + 5 * M, t + 60 * M, "BUY", 1e-3,
        created_at=now,
    )  # fmt: skip


def _memory(db: Database) -> tuple[float, float]:
    rows = db.con.execute("SELECT tag, memory_usage_bytes FROM duckdb_memory()").fetchall()
    total = sum(int(b) for _, b in rows) / 1e6
    index = sum(int(b) for t, b in rows if "INDEX" in str(t)) / 1e6
    return round(total, 1), round(index, 1)


def _floor(db: Database, samples: list[NewSample], now: int) -> float:
    """Time the plain insert of one batch's rows into scratch tables without key (ms)."""
    made = SampleStore(db).get([s.sample_id for s in samples])
    table = sample_table(made)
    outs = pa.table({f: [getattr(_pending(s, now), f) for s in samples] for f in PENDING_FIELDS})
    with db.transaction() as con:
        con.execute("CREATE TABLE IF NOT EXISTS s_floor AS SELECT * FROM training_samples LIMIT 0")
        con.execute("CREATE TABLE IF NOT EXISTS o_floor AS SELECT * FROM outcomes LIMIT 0")
    t = time.perf_counter()
    with db.transaction() as con:
        con.register("fs", table)
        con.register("fo", outs)
        con.execute(f"INSERT INTO s_floor ({', '.join(COLUMNS)}) SELECT * FROM fs")
        cols = ", ".join(PENDING_FIELDS)
        con.execute(f"INSERT INTO o_floor ({cols}) SELECT {cols} FROM fo")
        con.unregister("fs")
        con.unregister("fo")
    return (time.perf_counter() - t) * 1e3


def main() -> None:
    n = int(os.environ.get("GC_BENCH_SAMPLES", "500000"))
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.duckdb")
        db.con.execute("SET memory_limit = '8GB'")
        df = synthetic_candles(n + 40, "1m", start_ms=T0, seed=11)
        CandleStore(db).write(SYMBOL, "1m", df, provenance=CandleSource.FILE)
        store, outcomes = SampleStore(db), OutcomeStore(db)
        times: list[float] = []
        for b in range(n // BATCH):
            items = [_sample(20 + b * BATCH + i) for i in range(BATCH)]
            now = T0 + (b + 1) * BATCH * M
            t = time.perf_counter()
            with db.transaction() as con:
                store.record_in(con, items, now=now)
                outcomes.insert_pending_in(con, [_pending(s, now) for s in items])
            times.append((time.perf_counter() - t) * 1e3)
        memory, index = _memory(db)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        floor = statistics.median(_floor(db, items, now) for _ in range(5))
        middle = _sample(20 + n // 2).sample_id
        t = time.perf_counter()
        for _ in range(5):
            assert store.get([middle])
        get_ms = (time.perf_counter() - t) * 200
        t = time.perf_counter()
        for _ in range(5):
            assert outcomes.get(middle) is not None
        outcome_get_ms = (time.perf_counter() - t) * 200
        db.close()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(
        json.dumps(
            {
                "bench": "growth_tables",
                "commit": commit,
                "samples": n,
                "memory_mb": memory,
                "index_mb": index,
                "rss_max_mb": round(rss, 1),
                "batch_ms_first": round(statistics.median(times[:SHOWN]), 2),
                "batch_ms_last": round(statistics.median(times[-SHOWN:]), 2),
                "floor_batch_ms": round(floor, 2),
                "get_by_id_ms": round(get_ms, 2),
                "outcome_get_ms": round(outcome_get_ms, 2),
                "load": os.getloadavg()[0],
            }
        )
    )


if __name__ == "__main__":
    main()

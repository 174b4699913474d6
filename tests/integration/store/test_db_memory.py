"""``Database.memory()``: DuckDB's memory held, its bound and the WAL, on a real file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import (
    LONG_RUNNING_CHECKPOINT,
    MEMORY_ENV,
    Database,
    memory_limit,
    size_bytes,
)

START = 1_700_000_000_000


def test_memory_reports_the_bound_set_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MEMORY_ENV, "48MB")
    with Database(tmp_path / "m.duckdb") as db:
        got = db.memory()
    assert abs(got["limit"] - size_bytes(memory_limit())) <= 0.01 * size_bytes(memory_limit())
    assert 0 < got["bytes"] <= got["limit"]


def test_written_rows_show_in_the_wal_until_a_checkpoint_and_in_the_memory_held(
    tmp_path: Path,
) -> None:
    with Database(tmp_path / "m.duckdb") as db:
        db.con.execute("CHECKPOINT")
        before = db.memory()
        df = synthetic_candles(20_000, "1s", start_ms=START, seed=1)
        CandleStore(db).write("ETH/USDT", "1s", df, provenance=CandleSource.FILE)
        after = db.memory()
        assert after["wal_bytes"] > before["wal_bytes"]
        assert after["bytes"] > before["bytes"]
        db.con.execute("CHECKPOINT")
        assert db.memory()["wal_bytes"] < after["wal_bytes"]


def _wal_peak(db: Database, batches: int, size: int) -> int:
    """Write ``batches`` commits of ``size`` 1s candles; return the largest WAL seen after one."""
    store, peak = CandleStore(db), 0
    df = synthetic_candles(batches * size, "1s", start_ms=START, seed=2)
    for i in range(batches):
        part = df.iloc[i * size : (i + 1) * size]
        store.write("ETH/USDT", "1s", part, provenance=CandleSource.WEBSOCKET)
        peak = max(peak, db.memory()["wal_bytes"])
    return peak


def test_a_runtime_checkpoints_its_database_each_time_the_wal_passes_a_few_megabytes(
    tmp_path: Path,
) -> None:
    from ghostcandle.domain.clock import LiveClock
    from ghostcandle.engine.runtime import Runtime

    threshold = size_bytes(LONG_RUNNING_CHECKPOINT)
    with Database(tmp_path / "plain.duckdb") as db:  # DuckDB's default: 16 MiB of WAL
        plain = _wal_peak(db, 40, 2000)
    assert plain > 3 * threshold  # enough written to pass the threshold several times
    with Database(tmp_path / "serve.duckdb") as db:
        rt = Runtime(db, LiveClock())
        try:
            served = _wal_peak(db, 40, 2000)
        finally:
            rt.close()
    assert served <= threshold + plain / 40 * 2  # the threshold and the commit that passed it


def test_the_eviction_queues_nodes_left_by_hash_tables_are_reported(tmp_path: Path) -> None:
    """Each buffer a query's hash table takes leaves a node (and its block handle, outside
    ``bytes``) in DuckDB's eviction queues once freed: ``memory()`` counts them."""
    with Database(tmp_path / "m.duckdb") as db:
        db.con.execute("CREATE TABLE t AS SELECT range AS k FROM range(50000)")
        before = db.memory()
        for _ in range(20):
            db.con.execute("SELECT count(*) FROM t a JOIN t b USING (k)").fetchone()
        after = db.memory()
    assert after["dead_queue_nodes"] > before["dead_queue_nodes"]
    assert after["queue_nodes"] >= after["dead_queue_nodes"]
    assert sum(after["queue_nodes_each"]) == after["queue_nodes"]  # each queue's, in order
    assert after["queue_nodes_each"][0] < after["dead_queue_nodes"]  # buffers: not queue 0's

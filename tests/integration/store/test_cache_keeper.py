"""``Database.trim_cache`` and ``CacheKeeper``: DuckDB's block cache trimmed to a working set, on a
real file, with nothing lost and the memory limit as it was."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.store.cache_keeper import CacheKeeper
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import CACHE_KEEP_SHARE, Database, memory_limit, size_bytes

START = 1_700_000_000_000
MB = 1 << 20
SUM_SQL = (
    "SELECT (SELECT count(*) FROM candles), (SELECT sum(close) FROM candles), "
    "(SELECT sum(x) FROM noise)"
)


def _cached(db: Database) -> tuple[int, float, float]:
    """Write 50,000 1s candles and 2M random doubles (which do not compress: ~16 MB of blocks),
    checkpoint and read them back so DuckDB caches their blocks; return what the read found."""
    df = synthetic_candles(50_000, "1s", start_ms=START, seed=3)
    CandleStore(db).write("ETH/USDT", "1s", df, provenance=CandleSource.FILE)
    db.con.execute("CREATE TABLE noise AS SELECT random() AS x FROM range(2000000)")
    db.con.execute("CHECKPOINT")
    row = db.con.execute(SUM_SQL).fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2])


def test_a_trim_evicts_the_cache_down_to_what_is_kept_and_loses_nothing(tmp_path: Path) -> None:
    with Database(tmp_path / "t.duckdb") as db:
        facts = _cached(db)
        held = db.memory()["bytes"]
        keep = held // 3
        assert held > 6 * MB  # enough cached for a trim to show
        freed = db.trim_cache(keep)
        after = db.memory()
        assert after["bytes"] <= keep
        assert freed >= held - keep - MB  # what it says it freed, within a block's worth
        assert abs(after["limit"] - size_bytes(memory_limit())) <= 0.01 * after["limit"]
        assert db.con.execute(SUM_SQL).fetchone() == pytest.approx(facts)  # read from the file
        assert db.trim_cache(10 * held) == 0  # nothing past what is kept: nothing done


def test_the_keeper_trims_on_its_own_thread_until_stopped(tmp_path: Path) -> None:
    with Database(tmp_path / "k.duckdb") as db:
        _cached(db)
        held = db.memory()["bytes"]
        keeper = CacheKeeper(db, keep=held // 4, every_s=0.05).start()
        try:
            deadline = time.monotonic() + 10
            while keeper.trims == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            keeper.stop()
        assert keeper.trims >= 1
        assert keeper.freed_bytes > held // 2
        assert db.memory()["bytes"] <= held // 4
        assert keeper.to_json()["keep_bytes"] == held // 4


def test_a_runtime_keeps_a_quarter_of_the_limit_and_stops_its_keeper(tmp_path: Path) -> None:
    from ghostcandle.domain.clock import LiveClock
    from ghostcandle.engine.runtime import Runtime

    with Database(tmp_path / "r.duckdb") as db:
        rt = Runtime(db, LiveClock())
        keeper = rt.cache_keeper
        assert keeper.running
        rt.close()
        assert keeper.keep == int(size_bytes(memory_limit()) * CACHE_KEEP_SHARE)
        assert not keeper.running


def test_a_keeper_refuses_a_period_that_is_not_positive(tmp_path: Path) -> None:
    with Database(tmp_path / "p.duckdb") as db, pytest.raises(ValueError, match="positive"):
        CacheKeeper(db, every_s=0)


def test_a_bounded_block_keeps_its_own_error_when_the_trim_after_it_fails(tmp_path: Path) -> None:
    """``cache_bounded`` trims as the block ends; a trim that fails (here the database was closed
    inside the block) never hides the block's own error."""
    db = Database(tmp_path / "bounded.duckdb")

    def closed_inside() -> None:
        with db.cache_bounded():
            db.close()
            raise ValueError("the block's own error")

    with pytest.raises(ValueError, match="the block's own"):
        closed_inside()

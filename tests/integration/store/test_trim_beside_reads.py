"""A cache trim beside other threads' reads, on a real DuckDB file: no read ever meets the
lowered memory limit (it failed with DuckDB's out-of-memory error before the read gate), the
trim waits for a quiet moment or is skipped, and a thread's own cursor never holds its trim."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from ghostcandle.store.db import Database

MB = 1 << 20
#: a read that pins a few MB while it runs (a sort over a 2M-row table)
READ = "SELECT s, v FROM t WHERE i % 7 = 0 ORDER BY v LIMIT 10"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    d = Database(tmp_path / "g.duckdb")
    d.con.execute(
        "CREATE TABLE t AS SELECT range AS i, random() AS v, md5(range::VARCHAR) AS s "
        "FROM range(2000000)"
    )
    d.con.execute("CHECKPOINT")
    return d


def test_reads_on_cursors_never_fail_while_another_thread_trims_to_a_tiny_keep(
    db: Database,
) -> None:
    stop = time.monotonic() + 4.0
    errors: list[str] = []
    reads = [0]
    freed = [0, 0]  # trims that freed memory, bytes freed

    def reader() -> None:
        while time.monotonic() < stop:
            try:
                with db.cursor() as cur:
                    assert cur.execute(READ).fetchall()
                reads[0] += 1
            except duckdb.Error as exc:
                errors.append(str(exc).splitlines()[0])

    def trimmer() -> None:
        while time.monotonic() < stop:
            got = db.trim_cache(MB, wait_s=0.05)
            freed[0] += got > 0
            freed[1] += got

    threads = [threading.Thread(target=reader), threading.Thread(target=trimmer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.close()
    assert errors == []
    assert reads[0] > 10
    assert freed[0] > 0  # the trims ran between the reads
    assert freed[1] > MB


def test_a_trim_waits_for_another_threads_cursor_or_is_skipped(db: Database) -> None:
    assert db.con.execute(READ).fetchall()  # blocks cached
    opened, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.cursor() as cur:
            cur.execute("SELECT 1").fetchall()
            opened.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert opened.wait(10)
    held = db.cached_bytes()
    assert held > 2 * MB
    t0 = time.monotonic()
    assert db.trim_cache(MB) == 0  # no wait: skipped at once, the cache as it was
    assert db.trim_cache(MB, wait_s=0.3) == 0  # waited its time, still not quiet
    assert 0.25 <= time.monotonic() - t0 < 5
    assert db.memory()["trims_skipped"] == 2  # told, for /api/status
    assert db.cached_bytes() >= held - MB
    threading.Timer(0.2, release.set).start()
    assert db.trim_cache(MB, wait_s=10) > 0  # ran once the cursor closed
    assert db.cached_bytes() <= MB
    holder.join(10)
    db.close()


def test_a_threads_own_open_cursor_does_not_hold_its_trim(db: Database) -> None:
    with db.cursor() as cur:
        assert cur.execute(READ).fetchall()
        assert db.cached_bytes() > 2 * MB
        assert db.trim_cache(MB) > 0
        assert cur.execute("SELECT count(*) FROM t").fetchone() == (2_000_000,)
    db.close()


def test_another_threads_new_cursor_waits_while_a_trim_runs(db: Database) -> None:
    gate = db._gate  # the trim's own section, held open here to see who waits on it
    entered = threading.Event()

    def read() -> None:
        with db.cursor() as cur:
            cur.execute("SELECT 1").fetchall()
            entered.set()

    with gate.alone() as quiet:
        assert quiet
        reader = threading.Thread(target=read)
        reader.start()
        assert not entered.wait(0.3)  # held at the gate while the trim runs
    assert entered.wait(10)  # and let through when it ends
    reader.join(10)
    db.close()

"""The ledger writer: group commit on one thread, failures kept to their submitter."""

from __future__ import annotations

import threading

import duckdb

from ghostcandle.domain.candles import Candle
from ghostcandle.engine.loop.ledger_writer import LedgerWriter
from ghostcandle.engine.loop.writes import Progress, SessionStores, SessionWrite
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import PredictionLedger
from ghostcandle.store.sessions import SessionStore

from .test_store_loop import SYM, T0, _record


def _insert(value: int):  # type: ignore[no-untyped-def]
    def write(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("INSERT INTO gc_test VALUES (?)", [value])

    return write


class _Gate:
    """A job that holds the writer inside its transaction until opened."""

    def __init__(self, writer: LedgerWriter) -> None:
        self.entered, self.open = threading.Event(), threading.Event()
        writer.submit(self)
        assert self.entered.wait(10)

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.entered.set()
        self.open.wait(10)


def test_jobs_queued_together_commit_in_one_transaction_in_order(db: Database) -> None:
    db.con.execute("CREATE TABLE gc_test (v BIGINT)")
    writer = LedgerWriter(db)
    gate = _Gate(writer)  # the writer is busy while ten more jobs queue
    tickets = [writer.submit(_insert(i)) for i in range(10)]
    assert writer.written < tickets[-1]
    gate.open.set()
    assert writer.wait(tickets[-1], timeout_s=30)
    rows = [r[0] for r in db.con.execute("SELECT v FROM gc_test").fetchall()]
    assert rows == list(range(10))
    assert writer.stats.jobs == 11
    assert writer.stats.commits == 2  # the blocked one alone, then the ten queued behind it
    writer.close()


def test_a_failing_job_is_reported_to_its_submitter_and_loses_no_other(db: Database) -> None:
    db.con.execute("CREATE TABLE gc_test (v BIGINT PRIMARY KEY)")
    writer = LedgerWriter(db)
    errors: list[BaseException] = []
    gate = _Gate(writer)
    writer.submit(_insert(1))
    writer.submit(_insert(1), on_error=errors.append)  # a duplicate key: refused
    last = writer.submit(_insert(2))
    gate.open.set()
    assert writer.wait(last, timeout_s=30)
    assert sorted(r[0] for r in db.con.execute("SELECT v FROM gc_test").fetchall()) == [1, 2]
    assert len(errors) == 1
    assert "Constraint" in str(errors[0])
    assert writer.stats.failed_jobs == 1
    writer.close()


def test_held_rows_are_readable_before_their_commit(db: Database) -> None:
    ledger = PredictionLedger(db)
    writer = LedgerWriter(db)
    rec = _record("a", T0)
    gate = _Gate(writer)
    ledger.hold([rec])
    ticket = writer.submit(
        lambda con: ledger.insert_in(con, [rec]), on_written=lambda: ledger.release([rec])
    )
    assert ledger.get("a") == rec  # not committed yet, but the page can show it
    assert ledger.pending("s1") == []
    gate.open.set()
    assert writer.wait(ticket, timeout_s=30)
    assert ledger._held == {}
    assert ledger.get("a") == rec
    assert [p.prediction_id for p in ledger.pending("s1")] == ["a"]
    writer.close()


def test_session_writes_queued_together_merge_and_keep_their_order(db: Database) -> None:
    stores = SessionStores(FrameStore(db), PredictionLedger(db), SessionStore(db))
    for sid in ("s1", "s2"):
        stores.sessions.create(sid, "live", {}, 0)
    a, b = _record("a", T0), _record("b", T0 + 60_000)
    candle = Candle(SYM, "1m", T0, 100.0, 100.4, 99.8, 100.2, 8.0)
    jobs = [
        SessionWrite(stores, [], [a], [], [], [Progress("s1", T0, 1, 0, 1)]),
        SessionWrite(stores, [], [b], [], [], [Progress("s2", T0, 1, 0, 1)]),
        # a's outcome queued behind its insert: the merged job inserts first, then updates
        SessionWrite(stores, [], [], [a.resolve(candle, T0 + 60_000)], [], []),
        SessionWrite(stores, [], [], [], [], [Progress("s1", T0 + 60_000, 2, 0, 2)]),
    ]
    writer = LedgerWriter(db)
    gate = _Gate(writer)
    last = 0
    for job in jobs:
        last = writer.submit(job)
    gate.open.set()
    assert writer.wait(last, timeout_s=30)
    assert writer.stats.commits == 2
    assert stores.ledger.counts("s1") == {"pending": 1, "resolved": 1, "expired": 0}
    assert stores.ledger.get("a") == a.resolve(candle, T0 + 60_000)
    s1, s2 = stores.sessions.require("s1"), stores.sessions.require("s2")
    assert (s1.progress_time, s1.events) == (T0 + 60_000, 2)  # the last marker wins
    assert (s2.progress_time, s2.events) == (T0, 1)
    writer.close()


class _Files:
    """A write with files to prepare (or none), noting the threads ``prepare`` ran on."""

    def __init__(self, files: bool) -> None:
        self.files, self.threads = files, list[str]()

    def prepare(self) -> None:
        self.threads.append(threading.current_thread().name)

    def has_files(self) -> bool:
        return self.files

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.prepare()


def test_only_a_job_with_files_wakes_a_preparing_thread(db: Database) -> None:
    writer = LedgerWriter(db)
    with_files, without = _Files(True), _Files(False)
    writer.submit(with_files)
    writer.submit(without)
    assert writer.wait(timeout_s=30)
    writer.close()
    assert with_files.threads[0].startswith("ledger-prepare")
    assert without.threads
    assert all(t == "ledger-writer" for t in without.threads)

"""The ledger writer: group commit on one thread, failures kept to their submitter."""

from __future__ import annotations

import threading

import duckdb

from ghostcandle.engine.ledger_writer import LedgerWriter
from ghostcandle.store.db import Database
from ghostcandle.store.predictions import PredictionLedger

from .test_store_loop import T0, _record


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

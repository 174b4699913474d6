"""The loop's one writer: sessions hand it their writes; it commits many in one transaction.

A DuckDB commit costs milliseconds (the write-ahead log is synced to disk), far more than
building a tick's rows. So a session no longer commits on its own thread: at each flush it
hands a write job (a tick's frames, ledger rows, step records and its progress marker) to this
writer and goes on. One background thread takes every job queued by then, from every session
sharing the writer, and runs them all in ONE transaction (group commit), in submission order;
jobs that can merge (``MergeableWrite``) become one, so a group costs a few statements.

Durability is unchanged in kind: a job is all-or-nothing, and a session's progress marker is in
the same job as the rows it covers, so after ``kill -9`` the database holds a prefix of the
jobs and a replay resumes from the last progress marker written. What changes is *when*: rows
are durable a few milliseconds after the tick, when ``wait`` returns, not when the event
handler returns. ``LoopSession.flush`` and ``wait_written`` wait for it.

A write may have files to put in place before its rows reference them (``PreparedWrite``: a
session's checkpoint): ``prepare()`` starts on a preparing thread as soon as the job is
submitted (only a job with files wakes one), so that the files of several jobs are written
(and synced) at the same time, and while earlier jobs commit. The writer calls ``prepare()``
again (idempotent: it waits for the started one, or retries one that failed) after merging and
before opening the transaction, so the transaction never waits on a file and never commits a
reference to a file that is not complete on disk.

If a group fails, each of its jobs is retried alone (so one session's bad row never takes
another's down with it); a job that still fails is reported to its submitter, who raises it
at its next flush.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import duckdb

from ghostcandle.domain.errors import OperationalError
from ghostcandle.store.db import Database

log = logging.getLogger(__name__)

Write = Callable[[duckdb.DuckDBPyConnection], None]


@runtime_checkable
class MergeableWrite(Protocol):
    """A write that can absorb the writes queued after it into one (fewer statements)."""

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write inside the open transaction ``con``."""
        ...

    def merge(self, later: Sequence[Any]) -> MergeableWrite:
        """Return one write doing this one, then ``later`` (all of the same type)."""
        ...


@runtime_checkable
class PreparedWrite(Protocol):
    """A write with files to put in place before its transaction (see the module doc)."""

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write inside the open transaction ``con``."""
        ...

    def prepare(self) -> None:
        """Write what the transaction will reference (idempotent); raise if that fails."""
        ...

    def has_files(self) -> bool:
        """Tell whether ``prepare`` has anything to write (else no thread is woken for it)."""
        ...


@dataclass
class WriterStats:
    """Counters of the writer (read them for reports; only the writer thread writes them)."""

    jobs: int = 0
    commits: int = 0
    failed_jobs: int = 0
    #: wall time spent in transactions, ms
    busy_ms: float = 0.0
    #: CPU time of the writer's thread in them, ms (what a loaded machine does not inflate)
    cpu_ms: float = 0.0


@dataclass
class _Job:
    ticket: int
    write: Write
    on_error: Callable[[BaseException], None] | None
    on_written: Callable[[], None] | None
    #: ``prepare()`` started at submission (PreparedWrite only)
    prepared: Future[None] | None = None


class LedgerWriter:
    """Run submitted writes on one thread, everything queued at once in one transaction.

    ``max_queued`` bounds the jobs waiting: a submitter that outruns the disk waits for room
    (back-pressure), so memory stays flat however long a replay.
    """

    def __init__(self, db: Database, *, max_queued: int = 64) -> None:
        if max_queued < 1:
            raise ValueError(f"max_queued must be >= 1 (got {max_queued})")
        self.db = db
        self.stats = WriterStats()
        self._max = max_queued
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._submitted = 0
        self._written = 0
        self._closed = False
        # files of several jobs written at once (fsyncs overlap), while earlier jobs commit
        self._preparer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ledger-prepare")
        self._thread = threading.Thread(target=self._loop, name="ledger-writer", daemon=True)
        self._thread.start()

    def submit(
        self,
        write: Write,
        *,
        on_error: Callable[[BaseException], None] | None = None,
        on_written: Callable[[], None] | None = None,
    ) -> int:
        """Queue ``write(con)`` to run inside a transaction; return its ticket for ``wait``.

        ``on_written`` is called (on the writer's thread) once the job is committed, ``on_error``
        if it failed.
        """
        with self._cond:
            if self._closed:
                raise OperationalError("the ledger writer is closed: start a new session")
            while len(self._queue) >= self._max:
                self._cond.wait()
            self._submitted += 1
            job = _Job(self._submitted, write, on_error, on_written)
            if isinstance(write, PreparedWrite) and write.has_files():
                job.prepared = self._preparer.submit(write.prepare)
            self._queue.append(job)
            self._cond.notify_all()
            return self._submitted

    def wait(self, ticket: int | None = None, timeout_s: float | None = None) -> bool:
        """Wait until job ``ticket`` (default: every job submitted so far) is committed.

        Return False if ``timeout_s`` passed first. A failed job counts as done: its error
        went to its submitter.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            target = self._submitted if ticket is None else ticket
            while self._written < target:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return True

    @property
    def written(self) -> int:
        """Return the ticket of the last job committed (jobs commit in ticket order)."""
        return self._written

    def close(self, timeout_s: float | None = None) -> None:
        """Write what is queued, then stop the thread (idempotent)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        self._preparer.shutdown(wait=False)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                jobs = list(self._queue)
                self._queue.clear()
                self._cond.notify_all()  # room for blocked submitters
            t0, c0 = time.perf_counter(), time.thread_time()
            for job in self._write(jobs):
                if job.on_written is not None:
                    try:
                        job.on_written()
                    except Exception:
                        log.exception("on_written handler of ledger write %d failed", job.ticket)
            self.stats.busy_ms += (time.perf_counter() - t0) * 1000.0
            self.stats.cpu_ms += (time.thread_time() - c0) * 1000.0
            with self._cond:
                self._written = jobs[-1].ticket
                self._cond.notify_all()

    def _write(self, jobs: list[_Job]) -> list[_Job]:
        """Write ``jobs`` in one transaction (each alone if that fails); return those written."""
        for job in jobs:
            if job.prepared is not None:
                # its outcome is not read here: the prepare() below raises what failed
                wait_futures([job.prepared])
        try:
            writes = _merged(jobs)
            for write in writes:
                _prepare(write)
            with self.db.transaction() as con:
                for write in writes:
                    write(con)
        except Exception as exc:
            if len(jobs) == 1:
                self._failed(jobs[0], exc)
                return []
            # one of them is bad: write each alone so that the others are kept
            written = []
            for job in jobs:
                try:
                    _prepare(job.write)
                    with self.db.transaction() as con:
                        job.write(con)
                except Exception as one:
                    self._failed(job, one)
                    continue
                self.stats.commits += 1
                self.stats.jobs += 1
                written.append(job)
            return written
        self.stats.commits += 1
        self.stats.jobs += len(jobs)
        return jobs

    def _failed(self, job: _Job, exc: BaseException) -> None:
        # reported to its submitter, who raises it at its next flush
        self.stats.failed_jobs += 1
        log.error("ledger write %d failed: %s: %s", job.ticket, type(exc).__name__, exc)
        if job.on_error is not None:
            job.on_error(exc)


def _prepare(write: Write) -> None:
    if isinstance(write, PreparedWrite):
        write.prepare()


def _merged(jobs: Sequence[_Job]) -> list[Write]:
    """Return the jobs' writes, each run of mergeable writes of one type merged into one."""
    out: list[Write] = []
    run: list[MergeableWrite] = []
    for job in [*jobs, None]:
        w = None if job is None else job.write
        if run and (w is None or type(w) is not type(run[0])):
            out.append(run[0].merge(run[1:]) if len(run) > 1 else run[0])
            run = []
        if isinstance(w, MergeableWrite):
            run.append(w)
        elif w is not None:
            out.append(w)
    return out

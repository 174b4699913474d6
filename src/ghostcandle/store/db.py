"""The database: one DuckDB file owned by one process, with versioned migrations."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from ghostcandle.domain.errors import GhostcandleError, OperationalError, UserInputError
from ghostcandle.store.migrations import all_migrations
from ghostcandle.store.read_gate import GatedCursor, ReadGate

log = logging.getLogger(__name__)

DB_ENV = "GHOSTCANDLE_DB"
DEFAULT_DB = "ghostcandle.duckdb"
#: DuckDB's memory for this process: its cache of table blocks and its queries' working memory
#: (beyond it, queries spill to ``<db>.tmp``). DuckDB's own default, 80% of the machine, lets a
#: long session's process grow with the file it writes; the OS page cache keeps the file anyway.
MEMORY_ENV = "GHOSTCANDLE_DB_MEMORY"
DEFAULT_MEMORY = "96MB"
#: The WAL size after which a long-running writer (serve's feed and live sessions) checkpoints;
#: DuckDB's default is 16 MiB. Until a checkpoint, the rows written stay in DuckDB's memory as
#: they were appended (uncompressed); after it they are compressed blocks, which its memory
#: bound can evict. A 30x feed writes ~1.6 MB of WAL a minute, so the default kept its first
#: ~10 minutes of rows that way; at 2 MB it checkpoints about every 75 s (at 1x, every hour).
LONG_RUNNING_CHECKPOINT = "2MB"
#: The share of the memory limit DuckDB's block cache is trimmed to (``Database.trim_cache``) by
#: a long-running writer's ``CacheKeeper`` and between a stored evaluation's reads: 96MB, 24 MB.
CACHE_KEEP_SHARE = 0.25
#: Seconds a ``cache_bounded`` block's last trim waits for other threads' cursors to close
#: (``read_gate``); the trims between its reads do not wait.
BOUNDED_WAIT_S = 0.5
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


def resolve_db_path(explicit: str | None) -> Path:
    """Return the database path: ``--db`` first, then ``$GHOSTCANDLE_DB``, then the default."""
    return Path(explicit or os.environ.get(DB_ENV) or DEFAULT_DB)


#: The table of applied migrations (created before the first one runs).
SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at BIGINT NOT NULL)"
)

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


def open_error(path: Path, exc: duckdb.Error) -> GhostcandleError:
    """Return the one-line error for a database DuckDB could not open, saying why.

    Only a lock held by another process is reported as one; a file that is no DuckDB
    database, or that cannot be read, is named as such.
    """
    text = str(exc)
    first = (text.splitlines() or [type(exc).__name__])[0][:200]
    held = _LOCK_HOLDER.search(text)
    if held or "Could not set lock" in text:
        who = f" (PID {held.group(2)}: {held.group(1)[:80]})" if held else ""
        return OperationalError(
            f"database {path} is in use by another process{who}: stop that process (another "
            "ghostcandle serve or live?) or pass another --db"
        )
    if "not a valid DuckDB database" in text:
        return UserInputError(
            f"{path} is not a DuckDB database: pass the --db of a ghostcandle database"
        )
    return OperationalError(
        f"cannot open database {path}: {first}: check the path and its permissions"
    )


def memory_limit() -> str:
    """Return DuckDB's memory limit: ``$GHOSTCANDLE_DB_MEMORY`` (e.g. ``512MB``) or 96MB."""
    given = os.environ.get(MEMORY_ENV, "").strip() or DEFAULT_MEMORY
    m = _MEMORY.match(given)
    if m is None or float(m.group(1)) <= 0:
        raise UserInputError(
            f"{MEMORY_ENV}={given[:40]!r} is not a memory size: give a number and a unit, "
            "e.g. 96MB or 1GB"
        )
    return f"{m.group(1)}{m.group(2)}"


_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def size_bytes(text: str) -> int:
    """Return the bytes of a size as DuckDB prints it (``244.1 MiB``, ``0 bytes``, ``1024B``)."""
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$", text)
    if m is None or m.group(2).lower() not in _UNITS:
        return 0
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def log_untrimmed(exc: duckdb.Error) -> None:
    """Log, in one line, a ``trim_cache`` that failed (a trim never fails its caller's work)."""
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    log.warning("DuckDB's cache was not trimmed: %s", first[:200])


class Database:
    """A DuckDB connection with a lock; every store of one engine shares one ``Database``.

    DuckDB allows one read-write process per file; within the process, calls are serialised
    by ``lock`` (use ``cursor()`` for reads from other threads).
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        if not read_only and self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if read_only and str(path) != ":memory:" and not self.path.exists():
            raise UserInputError(
                f"database {self.path} does not exist: ingest data first or pass --db"
            )
        limit = memory_limit()
        #: the memory limit this process set (``trim_cache`` lowers it for a moment)
        self.limit = limit
        #: the bytes of cache a trim keeps (``CACHE_KEEP_SHARE`` of the limit)
        self.cache_keep = int(size_bytes(limit) * CACHE_KEEP_SHARE)
        try:
            self.con = duckdb.connect(
                str(path), read_only=read_only, config={"memory_limit": limit}
            )
        except duckdb.Error as exc:
            raise open_error(self.path, exc) from None
        self.lock = threading.RLock()
        #: the cursors open by thread, which a cache trim waits for (``read_gate``)
        self._gate = ReadGate()
        #: trims skipped because other threads' cursors stayed open past their wait
        self.trims_skipped = 0
        #: per thread, the keep ``trim_cache()`` uses inside ``cache_bounded`` (see there)
        self._bounded = threading.local()
        self.read_only = read_only
        if not read_only:
            self.migrate()
        elif str(path) != ":memory:" and self.schema_version() == 0:
            # another program's DuckDB file (or one never opened by ghostcandle): reading it
            # would fail on the first missing table, and migrating it is not a reader's call
            self.con.close()
            raise UserInputError(
                f"database {self.path} has no ghostcandle tables (another program's DuckDB "
                "file?): pass the --db of a ghostcandle database"
            )

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.con.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cursor(self) -> GatedCursor:
        """Return ``with db.cursor() as cur``: a cursor for this thread's reads, closed at the
        block's end; a cache trim never runs while it is open (``read_gate``)."""
        return GatedCursor(self.con, self._gate)

    def memory(self) -> dict[str, Any]:
        """Return DuckDB's memory now: ``bytes`` held (its cache of table blocks, tables not yet
        checkpointed, indexes, queries' working memory), ``limit`` and the ``wal_bytes`` not yet
        checkpointed into the file; a long session's process grows by ``bytes`` up to ``limit``;
        ``trims_skipped``, the cache trims skipped so far for other threads' open cursors.

        Also the ``queue_nodes`` in DuckDB's eviction queues (``queue_nodes_each`` by queue),
        ``dead_queue_nodes`` of them for buffers already freed: each keeps a block handle
        (~200-500 bytes, C++ heap, not in ``bytes``) until its queue is purged at ~32k of them,
        a bounded growth outside ``bytes``."""
        used = self.cached_bytes()
        with self.cursor() as cur:
            limit = cur.execute(
                "SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'"
            ).fetchone()
            wal = cur.execute("SELECT wal_size FROM pragma_database_size()").fetchone()
            queues = cur.execute(
                "SELECT approximate_size, dead_nodes FROM duckdb_eviction_queues() "
                "ORDER BY queue_index"
            ).fetchall()
        return {
            "bytes": used,
            "limit": size_bytes(str(limit[0])) if limit else 0,
            "wal_bytes": size_bytes(str(wal[0])) if wal else 0,
            "trims_skipped": self.trims_skipped,
            "queue_nodes": sum(int(q[0] or 0) for q in queues),
            "dead_queue_nodes": sum(int(q[1] or 0) for q in queues),
            # by queue: 0 holds the file's blocks, 1-6 buffers of rising priority, 7 tiny ones
            "queue_nodes_each": [int(q[0] or 0) for q in queues],
        }

    def cached_bytes(self) -> int:
        """Return DuckDB's memory in use now (``duckdb_memory()``; see ``memory``)."""
        with self.cursor() as cur:
            row = cur.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
        return int(row[0] or 0) if row else 0

    def trim_cache(self, keep: int | None = None, *, wait_s: float = 0.0) -> int:
        """Evict DuckDB's oldest unpinned blocks until it holds ``keep`` bytes (``cache_keep``
        by default); return the bytes freed (0 when it held no more, when running queries
        hold more than ``keep``, or when the trim was skipped).

        DuckDB keeps every block it wrote or read until its ``memory_limit`` needs the room, so a
        long-running writer's memory grows with its file up to the limit. Lowering the limit
        evicts at once (oldest unpinned blocks first; they are read again from the file if
        asked for); the limit is then set back. If queries hold more than ``keep`` pinned,
        DuckDB refuses the lower limit and keeps its own: nothing is lost. The lower limit is
        never met by another query: the trim runs under ``lock`` (so no write runs) and only
        while no other thread has a cursor open (``read_gate``); it waits up to ``wait_s`` for
        such a moment and is otherwise skipped.
        """
        if keep is None:
            bound = getattr(self._bounded, "keep", None)
            keep = self.cache_keep if bound is None else bound
        if self.cached_bytes() <= keep:  # the common case, without taking the lock
            return 0
        deadline = time.monotonic() + wait_s
        while True:
            with self.lock, self._gate.alone() as quiet:
                if quiet:
                    return self._lower_to(int(keep))
            if not self._gate.wait_quiet(deadline) or time.monotonic() > deadline:
                self.trims_skipped += 1  # the next trim evicts what this one would have
                return 0

    def _lower_to(self, keep: int) -> int:
        """Trim to ``keep`` bytes by lowering the limit for a moment (under ``lock``, alone)."""
        before = self.cached_bytes()
        if before <= keep:
            return 0
        try:
            self.con.execute(f"SET memory_limit = '{keep}B'")
        except duckdb.OutOfMemoryException:
            return 0  # pinned by running queries: DuckDB kept its limit
        finally:
            self.con.execute(f"SET memory_limit = '{self.limit}'")
        return max(0, before - self.cached_bytes())

    @contextmanager
    def cache_bounded(self) -> Iterator[int]:
        """Within the block, keep DuckDB's cache no bigger than it was when the block began.

        A long read that trims after each range (a stored evaluation: ``trim_cache()`` from
        this thread) keeps ``min(cache_keep, what DuckDB held at the start)`` instead of
        ``cache_keep``, and the cache is trimmed to that at the end: the blocks it read are
        not read again, and a replay's summary or a workspace's evaluation leaves the process
        holding what it held before. Other threads' trims (the ``CacheKeeper``) are not
        affected. Yields the bound, in bytes.
        """
        outer = getattr(self._bounded, "keep", None)
        bound = min(self.cache_keep, self.cached_bytes())
        bound = bound if outer is None else min(outer, bound)
        self._bounded.keep = bound
        try:
            yield bound
        finally:
            self._bounded.keep = outer
            try:
                self.trim_cache(bound, wait_s=BOUNDED_WAIT_S)
            except duckdb.Error as exc:  # the block's own error, if any, is the one to tell
                log_untrimmed(exc)

    def checkpoint_often(self, wal: str = LONG_RUNNING_CHECKPOINT) -> None:
        """Checkpoint whenever the WAL passes ``wal`` (see ``LONG_RUNNING_CHECKPOINT``)."""
        if _MEMORY.match(wal) is None:
            raise ValueError(f"checkpoint threshold {wal!r}: give a size such as 2MB")
        with self.lock:
            self.con.execute(f"SET checkpoint_threshold = '{wal.strip()}'")

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block in one transaction: all of it is written, or none."""
        with self.lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    def schema_version(self) -> int:
        """Return the highest applied migration version (0 for an empty database)."""
        with self.lock:
            exists = self.con.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_name = 'schema_migrations'"
            ).fetchone()
            if not exists or not exists[0]:
                return 0
            row = self.con.execute("SELECT max(version) FROM schema_migrations").fetchone()
            return int(row[0]) if row and row[0] is not None else 0

    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; return the versions applied."""
        with self.lock:
            self.con.execute(SCHEMA_MIGRATIONS)
            done = {
                int(r[0])
                for r in self.con.execute("SELECT version FROM schema_migrations").fetchall()
            }
            applied: list[int] = []
            for m in all_migrations():
                if m.version in done:
                    continue
                with self.transaction() as con:
                    for sql in m.statements:
                        con.execute(sql)
                    con.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                        [m.version, m.name, int(time.time() * 1000)],
                    )
                applied.append(m.version)
            return applied

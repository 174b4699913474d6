"""Cursors read side by side; a cache trim waits until no other thread's cursor is open.

``Database.trim_cache`` evicts DuckDB's cache by lowering its ``memory_limit`` for a moment: the
limit is the whole database's, and a query that another thread's cursor runs meanwhile can meet
it and fail with an out-of-memory error (``failed to allocate ...``) with nothing wrong in it.
Writes are safe (they run under ``Database.lock``, which the trim holds); reads on cursors are
not, so every cursor is opened through this gate:

- a cursor registers its thread while it is open; cursors never wait for each other;
- a trim runs only while no *other* thread has a cursor open (the trimming thread's own cursors
  are not running while it trims); while it runs, which takes milliseconds, other threads'
  new cursors wait for it;
- a trim that finds cursors open waits for a quiet moment, up to the time its caller allows,
  and is otherwise skipped: the cache is trimmed next time, and no read ever fails for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


class ReadGate:
    """Who has cursors open, by thread, and the one trim running (see the module doc)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        #: open cursors by thread ident
        self._open: dict[int, int] = {}
        #: the thread whose trim is running, if any
        self._trimming: int | None = None

    def enter(self) -> None:
        """Register a cursor of this thread; waits while another thread's trim runs."""
        me = threading.get_ident()
        with self._cond:
            while self._trimming is not None and self._trimming != me:
                self._cond.wait()
            self._open[me] = self._open.get(me, 0) + 1

    def leave(self) -> None:
        """Unregister a cursor of this thread."""
        me = threading.get_ident()
        with self._cond:
            left = self._open[me] - 1
            if left:
                self._open[me] = left
            else:
                del self._open[me]
                self._cond.notify_all()

    def _quiet_for(self, me: int) -> bool:
        """Tell whether no thread but ``me`` has a cursor open (hold ``_cond``)."""
        return all(t == me for t in self._open)

    @contextmanager
    def alone(self) -> Iterator[bool]:
        """Within the block, no other thread's cursor is open or opens, if it yields True.

        Yields False at once (and holds nothing) when another thread's cursor is open: the
        caller skips its trim or calls ``wait_quiet`` and tries again.
        """
        me = threading.get_ident()
        with self._cond:
            quiet = self._trimming is None and self._quiet_for(me)
            if quiet:
                self._trimming = me
        if not quiet:
            yield False
            return
        try:
            yield True
        finally:
            with self._cond:
                self._trimming = None
                self._cond.notify_all()

    def wait_quiet(self, deadline: float) -> bool:
        """Wait until no other thread has a cursor open or ``deadline`` (``time.monotonic``)
        passes; return whether it is quiet."""
        me = threading.get_ident()
        with self._cond:
            return self._cond.wait_for(
                lambda: self._quiet_for(me), timeout=max(0.0, deadline - time.monotonic())
            )


class GatedCursor:
    """``with db.cursor() as cur``: a cursor of its own for this thread, open at the gate."""

    __slots__ = ("_con", "_cur", "_gate")

    def __init__(self, con: duckdb.DuckDBPyConnection, gate: ReadGate) -> None:
        self._con = con
        self._gate = gate

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self._gate.enter()
        try:
            self._cur = self._con.cursor()
        except BaseException:
            self._gate.leave()
            raise
        return self._cur

    def __exit__(self, *exc: object) -> None:
        try:
            self._cur.close()
        finally:
            self._gate.leave()

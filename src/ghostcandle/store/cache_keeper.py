"""Keep a long-running writer's DuckDB block cache near a working set.

DuckDB keeps each block it wrote (after a checkpoint) or read in its memory until its
``memory_limit`` needs the room. A ``serve`` with a live session writes ~1 MB of file a minute
at 30x, so its memory grew that much a minute until the limit (96MB by default): bounded, but
for hours a growth no one can tell from a leak. A ``CacheKeeper`` trims the cache every
``every_s`` to ``keep`` bytes (``Database.cache_keep``, a quarter of the limit, by default),
oldest unpinned blocks first; what a query reads again comes back from the file (the OS keeps
its pages).
"""

from __future__ import annotations

import threading

import duckdb

from ghostcandle.store.db import Database, log_untrimmed

#: seconds between trims: a live session at 30x reads and writes ~15 MB of blocks a minute
#: (candle windows read back, rows checkpointed), so every 30 s the cache swung between the keep
#: and ~10 MB over it; every 10 s it stays within ~3-4 MB of it
EVERY_S = 10.0
#: seconds a trim waits for a moment when no other thread has a cursor open (``read_gate``)
WAIT_S = 1.0


class CacheKeeper:
    """Trim ``db``'s DuckDB cache to ``keep`` bytes every ``every_s`` seconds on a thread."""

    def __init__(self, db: Database, *, keep: int | None = None, every_s: float = EVERY_S) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s={every_s}: give a positive number of seconds")
        self.db = db
        self.keep = db.cache_keep if keep is None else int(keep)
        self.every_s = every_s
        #: trims that freed memory, and the bytes they freed in all
        self.trims = 0
        self.freed_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> CacheKeeper:
        """Start trimming (once); return self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="db-cache-keeper", daemon=True)
            self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Whether the trimming thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def trim(self) -> int:
        """Trim once now; return the bytes freed."""
        freed = self.db.trim_cache(self.keep, wait_s=WAIT_S)
        if freed:
            self.trims += 1
            self.freed_bytes += freed
        return freed

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.trim()
            except duckdb.ConnectionException:
                return  # the database was closed under us: nothing left to trim
            except duckdb.Error as exc:  # never take the process down for a cache
                log_untrimmed(exc)

    def stop(self) -> None:
        """Stop trimming and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def to_json(self) -> dict[str, int | float]:
        """Return what the keeper keeps and what it freed so far."""
        return {
            "keep_bytes": self.keep,
            "every_s": self.every_s,
            "trims": self.trims,
            "freed_bytes": self.freed_bytes,
        }

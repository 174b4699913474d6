"""The C heap of a long-running process: glibc's malloc arenas capped, its mmap threshold held.

glibc gives each thread that allocates its own arena, up to eight per core (16 on 2 cores). A
``serve`` with a live session runs ~14 threads (the bus, the writer, the trainer, the batch
builder, DuckDB's, uvicorn's...), and each arena keeps the holes its thread's frees leave: at 30x
the free space inside the arenas grew ~1 MB a minute while what was in use grew ~0.5 (glibc's
``mallinfo2``). Capped at ``ARENAS``, the threads share the arenas and fill each other's holes:
the free space stayed at 8-9 MB over 13 minutes (README, Hardening: Memory). Python holds the GIL
for most allocations, so threads seldom wait for an arena's lock.

glibc maps a block of ``M_MMAP_THRESHOLD`` bytes or more (128 KiB at start) on its own and
unmaps it when freed, but it raises that threshold to the size of any mapped block freed (up to
32 MiB). The large buffers a live session makes and drops all the time (numpy arrays of candles
read back, torch's batch tensors, query results) then came from the arenas and left holes there:
at 30x the arenas' free space grew ~0.4 MB a minute, to 13-15 MB after 12 minutes. Held at
``MMAP_THRESHOLD``, each such buffer is mapped and given back on its own: the free space stayed
at 3-4.5 MB (README, Hardening: Memory). DuckDB's own buffers come from its jemalloc, not these.

``MALLOC_ARENA_MAX`` and ``MALLOC_MMAP_THRESHOLD_`` in the environment (glibc's own settings)
are left to decide. Elsewhere than glibc (macOS, musl) nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

#: glibc's ``mallopt`` parameter for the most arenas (``malloc.h``: ``M_ARENA_MAX``)
M_ARENA_MAX = -8
#: the arenas a long-running command's threads share
ARENAS = 2
#: glibc's own environment setting, which wins over ``ARENAS``
ENV = "MALLOC_ARENA_MAX"
#: glibc's ``mallopt`` parameter for the size from which a block is mapped on its own
M_MMAP_THRESHOLD = -3
#: glibc's starting threshold (128 KiB), held
MMAP_THRESHOLD = 128 * 1024
#: glibc's own environment setting, which wins over ``MMAP_THRESHOLD``
MMAP_ENV = "MALLOC_MMAP_THRESHOLD_"


def _mallopt(param: int, value: int, env: str) -> int | None:
    """Set glibc's ``param`` to ``value`` unless ``env`` is set or this is not glibc; return
    ``value`` when set, else None."""
    if os.environ.get(env, "").strip():
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None or mallopt(param, value) != 1:
        return None
    log.debug("glibc mallopt(%d, %d) set", param, value)
    return value


def compact_heap() -> dict[str, int | None]:
    """Cap the arenas and hold the mmap threshold (a long-running command, before its threads
    start); return what was set (None: left to the environment, or not glibc)."""
    return {"arenas": cap_arenas(), "mmap_threshold": hold_mmap_threshold()}


def cap_arenas(arenas: int = ARENAS) -> int | None:
    """Cap glibc's malloc arenas at ``arenas`` for the threads started from now on; return the
    cap set, or None when nothing was set (``MALLOC_ARENA_MAX`` given, or not glibc).

    Call it before the process starts its threads: an arena already made is kept.
    """
    if arenas < 1:
        raise ValueError(f"arenas={arenas}: give at least 1")
    return _mallopt(M_ARENA_MAX, arenas, ENV)


def hold_mmap_threshold(size: int = MMAP_THRESHOLD) -> int | None:
    """Map every block of ``size`` bytes or more on its own from now on (glibc no longer raises
    the threshold as blocks are freed); return the threshold set, or None when nothing was set
    (``MALLOC_MMAP_THRESHOLD_`` given, or not glibc)."""
    if size < 4096:
        raise ValueError(f"size={size}: give at least 4096 bytes (a page)")
    return _mallopt(M_MMAP_THRESHOLD, size, MMAP_ENV)

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

A one-shot batched backtest wants the opposite: it makes and drops the same large blocks batch
after batch (the stacked windows, the model's tensors: MBs each), and each block mapped on its
own, or given back when the heap's top is trimmed, costs a page fault per 4 KiB when it is made
again. On the slowest 2-core machine a month's backtest took 362,000 page faults in one run and
12,000 in the next, and ran 30% slower. ``keep_freed_heap`` takes blocks of up to 32 MiB from
the heap and keeps up to ``TRIM_THRESHOLD`` of free space at its top, so later batches reuse
the pages earlier ones left (``ghostcandle backtest``; not ``serve``, whose memory stays flat).

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
#: the largest threshold glibc takes on 64-bit systems (``DEFAULT_MMAP_THRESHOLD_MAX``)
KEEP_MMAP_THRESHOLD = 32 * 1024 * 1024
#: glibc's ``mallopt`` parameter for the free space at the heap's top that it keeps
M_TRIM_THRESHOLD = -1
#: the free space a one-shot command keeps at the heap's top for its next blocks
TRIM_THRESHOLD = 256 * 1024 * 1024
#: glibc's own environment setting, which wins over ``TRIM_THRESHOLD``
TRIM_ENV = "MALLOC_TRIM_THRESHOLD_"


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


def keep_freed_heap() -> dict[str, int | None]:
    """Have glibc keep freed large blocks for reuse (a one-shot command that makes and drops
    the same large buffers over and over); return what was set (None: left to the environment,
    or not glibc). Not for a long-running process: its free space is never given back."""
    return {
        "mmap_threshold": _mallopt(M_MMAP_THRESHOLD, KEEP_MMAP_THRESHOLD, MMAP_ENV),
        "trim_threshold": _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD, TRIM_ENV),
    }

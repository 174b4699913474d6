"""The C heap of a long-running process: glibc's malloc arenas capped.

glibc gives each thread that allocates its own arena, up to eight per core (16 on 2 cores). A
``serve`` with a live session runs ~14 threads (the bus, the writer, the trainer, the batch
builder, DuckDB's, uvicorn's...), and each arena keeps the holes its thread's frees leave: at 30x
the free space inside the arenas grew ~1 MB a minute while what was in use grew ~0.5 (glibc's
``mallinfo2``). Capped at ``ARENAS``, the threads share the arenas and fill each other's holes:
the free space stayed at 8-9 MB over 13 minutes (README, Hardening: Memory). Python holds the GIL
for most allocations, so threads seldom wait for an arena's lock.

``MALLOC_ARENA_MAX`` in the environment (glibc's own setting) is left to decide. Elsewhere than
glibc (macOS, musl) nothing is done.
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


def cap_arenas(arenas: int = ARENAS) -> int | None:
    """Cap glibc's malloc arenas at ``arenas`` for the threads started from now on; return the
    cap set, or None when nothing was set (``MALLOC_ARENA_MAX`` given, or not glibc).

    Call it before the process starts its threads: an arena already made is kept.
    """
    if arenas < 1:
        raise ValueError(f"arenas={arenas}: give at least 1")
    if os.environ.get(ENV, "").strip():
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None or mallopt(M_ARENA_MAX, arenas) != 1:
        return None
    log.debug("glibc malloc arenas capped at %d", arenas)
    return arenas

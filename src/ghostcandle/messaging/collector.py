"""Python's cyclic garbage collector kept off live ticks.

A full collection (the oldest generation's) walks every object the collector tracks: ~210,000
in a process with torch, pandas, DuckDB and the loop loaded, 80-180 ms on a 2-core machine,
holding the GIL, so a tick (or its commit) that falls on one waits that long. When a live
session starts, ``hold`` freezes every object alive then (``gc.freeze``: the modules, the
libraries, the sessions' long-lived parts) out of all passes; what the process makes afterwards
is collected as before, and a frozen object that dies is still freed by its reference count.
Only a reference cycle among frozen objects would wait, so any live session's stop (``release``)
hands everything back to the collector: no garbage is kept past a stop, and the next start
freezes again.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()


def hold() -> int:
    """Freeze every object alive now out of the collector's passes; return how many are."""
    with _lock:
        gc.freeze()
        return gc.get_freeze_count()


def release() -> None:
    """Hand every frozen object back to the collector (a live session stops)."""
    with _lock:
        gc.unfreeze()


def frozen() -> int:
    """Return how many objects are frozen out of the collector's passes."""
    return gc.get_freeze_count()

"""Stored candle rows as arrays, with their roll-up flag and provenance, sliced by window.

A ``Window`` holds exactly its spec's candles; a ``WindowRows`` holds whatever the store has
in the spec's range, which may be fewer (a gap) or include incomplete roll-ups. Sample quality
(``domain.sample_quality``) is judged on these rows, and their hash equals the ``Window``'s
when every candle is there, so a frame recorded from a whole window verifies the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ghostcandle.domain.frames import frame_hash
from ghostcandle.domain.window import Window, WindowSpec


@dataclass(frozen=True, eq=False)
class WindowRows:
    """The stored candles of one window's range: ``values`` is ``(n, 5)`` OHLCV, n <= length."""

    spec: WindowSpec
    open_time: np.ndarray
    values: np.ndarray
    complete: np.ndarray
    provenance: np.ndarray

    def window(self, symbol: str) -> Window:
        """Return the rows as a ``Window`` (whole only if nothing is missing)."""
        return Window(symbol, self.spec, self.open_time, self.values)


@dataclass(frozen=True, eq=False)
class SeriesRows:
    """Candles of one series read once: ascending open times, values, flags, provenance."""

    open_time: np.ndarray
    values: np.ndarray
    complete: np.ndarray
    provenance: np.ndarray

    @staticmethod
    def empty() -> SeriesRows:
        """Return a series with no rows."""
        return SeriesRows(
            np.empty(0, np.int64), np.empty((0, 5)), np.empty(0, bool), np.empty(0, object)
        )

    def rows(self, spec: WindowSpec) -> WindowRows:
        """Return the rows inside ``spec``'s range (open times ``start..end``), as stored."""
        i = int(np.searchsorted(self.open_time, spec.start_open_time, side="left"))
        j = int(np.searchsorted(self.open_time, spec.end_open_time, side="right"))
        return WindowRows(
            spec,
            self.open_time[i:j],
            self.values[i:j],
            self.complete[i:j],
            self.provenance[i:j],
        )


def rows_hash(symbol: str, windows: Sequence[WindowRows]) -> str:
    """Return the input hash of a frame's stored rows (``frame_hash`` of whole windows)."""
    return frame_hash([w.window(symbol) for w in windows])


def combine_hashes(window_hashes: Iterable[str]) -> str:
    """Return a frame's hash from its windows' content hashes, exactly as ``frame_hash``.

    Lets a batch hash a window shared by many frames once (a coarse window repeats across
    every decision until its next candle closes).
    """
    h = hashlib.sha256()
    for x in window_hashes:
        h.update(x.encode())
    return h.hexdigest()

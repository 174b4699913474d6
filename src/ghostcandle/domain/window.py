"""A window: ``length`` consecutive closed candles of one series, ending at ``end_open_time``.

A ``WindowSpec`` names one window; ``complete_windows`` and ``stack_windows`` take many windows
of the same length out of one series' arrays at once (a batched backtest), under the same rule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ghostcandle.domain.timeframes import close_time, duration_ms

_Times = TypeVar("_Times", int, np.ndarray)


def first_open_time(end_open_time: _Times, timeframe: str, length: int) -> _Times:
    """Return the first open time of windows ending at ``end_open_time`` (an int or an array)."""
    return end_open_time - (length - 1) * duration_ms(timeframe)


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Which candles a window holds: by reference, never by copy."""

    timeframe: str
    end_open_time: int
    length: int

    @property
    def start_open_time(self) -> int:
        """Return the open time of the first candle of the window."""
        return first_open_time(self.end_open_time, self.timeframe, self.length)

    @property
    def known_at(self) -> int:
        """Return the time from which every candle of the window is closed."""
        return close_time(self.end_open_time, self.timeframe)

    def open_times(self) -> np.ndarray:
        """Return the expected open times, oldest first."""
        d = duration_ms(self.timeframe)
        return self.start_open_time + d * np.arange(self.length, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Window:
    """Materialised candles of a ``WindowSpec``: ``values`` is ``(length, 5)`` OHLCV float64."""

    symbol: str
    spec: WindowSpec
    open_time: np.ndarray
    values: np.ndarray

    def content_hash(self) -> str:
        """Return a stable SHA-256 of the window's identity and contents.

        Computed once per window object: a window's arrays are not to be changed once made
        (a ``WindowCache`` hands the same read-only window to every model of a tick).
        """
        cached: str | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash_arrays(
                f"{self.symbol}|{self.spec.timeframe}|{self.spec.end_open_time}|{self.spec.length}",
                self.open_time,
                self.values,
            )
            self.__dict__["_hash"] = cached
        return cached

    @property
    def nbytes(self) -> int:
        """Return the bytes a copy of this window's data takes."""
        return int(self.open_time.nbytes + self.values.nbytes)


def complete_windows(
    open_time: np.ndarray, timeframe: str, length: int, ends: np.ndarray
) -> np.ndarray:
    """Tell, for each row index in ``ends``, whether a whole window of ``length`` ends there.

    ``open_time`` is a series' ascending, distinct open times. A window is whole when the
    ``length`` rows up to its end exist and are its spec's candles (none missing in between),
    the test a ``WindowCache`` makes of one window.
    """
    ends = np.asarray(ends, dtype=np.int64)
    ok = (ends >= length - 1) & (ends < len(open_time))
    if not ok.any():
        return ok
    last = open_time[np.where(ok, ends, 0)]
    first = open_time[np.where(ok, ends - length + 1, 0)]
    whole: np.ndarray = ok & (first == first_open_time(last, timeframe, length))
    return whole


def stack_windows(values: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    """Return the ``length`` rows of ``values`` ending at each index of ``ends``, stacked.

    ``values`` is a series' ``(rows, k)`` array; the result is a C-contiguous
    ``(len(ends), length, k)`` copy. Every end must be a row index at least ``length - 1``.
    """
    ends = np.asarray(ends, dtype=np.int64)
    if len(ends) and (ends.min() < length - 1 or ends.max() >= len(values)):
        raise ValueError(
            f"window ends {int(ends.min())}..{int(ends.max())} fall outside rows "
            f"{length - 1}..{len(values) - 1}: give ends of whole windows of {length}"
        )
    rows = sliding_window_view(values, length, axis=0)[ends - length + 1]  # (batch, k, length)
    return np.ascontiguousarray(rows.transpose(0, 2, 1))


#: each dtype's name as hashed (``str(dtype)``, which numpy builds anew on every call: it was
#: ~40% of hashing a tick's windows)
_DTYPE_NAMES: dict[np.dtype, bytes] = {}


def hash_arrays(label: str, *arrays: np.ndarray) -> str:
    """Hash arrays in a canonical little-endian, C-contiguous layout, prefixed by ``label``.

    Each array adds its dtype's name (``str(dtype)``), its shape (``str(shape)``) and its bytes.
    """
    h = hashlib.sha256(label.encode())
    for a in arrays:
        arr = np.ascontiguousarray(a)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        name = _DTYPE_NAMES.get(arr.dtype)
        if name is None:
            name = _DTYPE_NAMES.setdefault(arr.dtype, str(arr.dtype).encode())
        h.update(name)
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()

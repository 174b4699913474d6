"""A window: ``length`` consecutive closed candles of one series, ending at ``end_open_time``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ghostcandle.domain.timeframes import close_time, duration_ms


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Which candles a window holds: by reference, never by copy."""

    timeframe: str
    end_open_time: int
    length: int

    @property
    def start_open_time(self) -> int:
        """Return the open time of the first candle of the window."""
        return self.end_open_time - (self.length - 1) * duration_ms(self.timeframe)

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
        """Return a stable SHA-256 of the window's identity and contents."""
        return hash_arrays(
            f"{self.symbol}|{self.spec.timeframe}|{self.spec.end_open_time}|{self.spec.length}",
            self.open_time,
            self.values,
        )

    @property
    def nbytes(self) -> int:
        """Return the bytes a copy of this window's data takes."""
        return int(self.open_time.nbytes + self.values.nbytes)


def hash_arrays(label: str, *arrays: np.ndarray) -> str:
    """Hash arrays in a canonical little-endian, C-contiguous layout, prefixed by ``label``."""
    h = hashlib.sha256(label.encode())
    for a in arrays:
        arr = np.ascontiguousarray(a)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        h.update(str(arr.dtype).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()

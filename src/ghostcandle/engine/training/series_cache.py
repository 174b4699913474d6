"""Candles read for recent training batches, per series, extended by the session's events.

Consecutive batches read nearly the same candles (the newest samples move one candle on), so the
cache keeps what one batch read and the next reads only the candles after it. A session also
hands it the candles of its events (``extend``: an event is published only once its candle is
stored, so it holds what the store holds), so the newest candles a batch needs come from memory.

Each series is kept in arrays with room after the newest candle: an event's candle is written
into that room (O(1)); only when it is full are the newest ``KEEP`` candles copied into new
arrays, with as much room again. Rows already handed out are never written to: a read returns
views, and those stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ghostcandle.domain.candles import VALUE_COLUMNS, Candle
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.store.candles import CandleStore

Arrays = tuple[np.ndarray, np.ndarray]


@dataclass(slots=True)
class _Series:
    """One series' cached candles: rows ``lo:hi`` of the backing arrays, in open-time order."""

    first: int  # the first open time covered
    covered: int  # the last open time covered (what the store held up to it is cached)
    times: np.ndarray  # backing open times (int64), room after ``hi``
    values: np.ndarray  # backing OHLCV rows (float64)
    lo: int
    hi: int

    @property
    def t(self) -> np.ndarray:
        return self.times[self.lo : self.hi]

    @property
    def v(self) -> np.ndarray:
        return self.values[self.lo : self.hi]


class SeriesCache:
    """Candles read for recent batches, per series; use it from one thread (the builder)."""

    #: the most candles kept per series beyond those a read asks for
    KEEP = 8192

    def __init__(self, candles: CandleStore) -> None:
        self.candles = candles
        self._series: dict[tuple[str, str], _Series] = {}
        self.reads = 0
        #: how many times a series' arrays were copied to make room (extend is O(1) otherwise)
        self.copies = 0

    def read(self, symbol: str, timeframe: str, lo: int, hi: int, *, fresh: bool = False) -> Arrays:
        """Return the stored candles with ``lo <= open_time <= hi`` (``fresh``: from the store).

        What is cached is kept (up to ``KEEP`` candles, never those asked for): an older range
        reads only the candles before the cached ones, a newer one only those after.
        """
        got = None if fresh else self._series.get((symbol, timeframe))
        same = got is not None  # still the cached arrays (nothing read)
        if got is None:
            t, v = self._read(symbol, timeframe, lo, hi)
            first, covered = lo, hi
        else:
            first, covered, t, v = got.first, got.covered, got.t, got.v
            if lo < first:
                ot, ov = self._read(symbol, timeframe, lo, first - 1)
                t, v = np.concatenate([ot, t]), np.concatenate([ov, v])
                first, same = lo, False
            if hi > covered:
                nt, nv = self._read(symbol, timeframe, covered + 1, hi)
                t, v = np.concatenate([t, nt]), np.concatenate([v, nv])
                covered, same = hi, False
        i = int(np.searchsorted(t, lo))
        drop = max(0, min(i, len(t) - self.KEEP))  # the oldest go first, never those asked for
        if drop:
            first = int(t[drop])
        # only what was found counts as covered: a candle stored later is read next time
        last = int(t[-1]) if len(t) else first - 1
        if same and got is not None:
            got.lo += drop  # nothing read: the same arrays, the oldest left behind
            got.first, got.covered = first, min(covered, last)
        else:
            self._series[(symbol, timeframe)] = _Series(
                first, min(covered, last), t, v, drop, len(t)
            )
        j = int(np.searchsorted(t, hi, side="right"))
        return t[i:j], v[i:j]

    def extend(self, candle: Candle) -> bool:
        """Add a stored candle right after what its series covers; return whether it was added.

        Anything else (an uncached series, a gap, an older candle) is left to the next read.
        """
        s = self._series.get((candle.symbol, candle.timeframe))
        if s is None or s.hi == s.lo or int(s.times[s.hi - 1]) != s.covered:
            return False
        if candle.open_time != s.covered + duration_ms(candle.timeframe):
            return False
        if s.hi == len(s.times):  # full: the newest KEEP into new arrays with room again
            self._make_room(s)
        s.times[s.hi] = candle.open_time
        s.values[s.hi] = (candle.open, candle.high, candle.low, candle.close, candle.volume)
        s.hi += 1
        s.covered = candle.open_time
        return True

    def _make_room(self, s: _Series) -> None:
        keep = min(s.hi - s.lo, self.KEEP)
        room = max(keep, 64)
        times = np.empty(keep + room, dtype=np.int64)
        values = np.empty((keep + room, len(VALUE_COLUMNS)), dtype=np.float64)
        times[:keep] = s.times[s.hi - keep : s.hi]
        values[:keep] = s.values[s.hi - keep : s.hi]
        s.times, s.values, s.lo, s.hi = times, values, 0, keep
        s.first = int(times[0])
        self.copies += 1

    def _read(self, symbol: str, timeframe: str, lo: int, hi: int) -> Arrays:
        self.reads += 1
        df = self.candles.read(symbol, timeframe, lo, hi)
        return (
            df["open_time"].to_numpy(dtype=np.int64),
            df[list(VALUE_COLUMNS)].to_numpy(dtype=np.float64),
        )

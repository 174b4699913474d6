"""The last closed candles of each series a session reads, kept in memory between ticks.

Seeded from the candle store, then extended by the candle events themselves, so the input of a
prediction is sliced from memory instead of re-queried every tick. It holds exactly what the
store holds (an event is published only once its candle is stored), so a window taken here
hashes the same as the store's ``window`` of the same spec; every frame records that hash and
``get_inference_data`` checks it. After its load a series learns candles only from their
events; the load itself (a session starting while its bus is behind) may take stored candles
whose events are still queued, so a decision asks for the windows closed by its time
(``window(..., until=t)``) and never reads a candle closed after ``t``.

The sessions handed the same events (one bus) over one database share one cache
(``open_cache(..., shared_by=bus)``): each series is loaded, extended, copied into windows,
hashed and normalised once for all of them (a transformer and a CNN session side by side read
the same windows), and each session's ``on_candle`` after the first is a no-op. A series is
kept while a session tracks it (``track``/``untrack`` count them), so a session started after
every user of a series stopped loads it afresh from the store. The cache's lock orders the
bus thread's reads and extensions against a session starting or stopping on another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from weakref import WeakKeyDictionary

import numpy as np

from ghostcandle.domain.candles import VALUE_COLUMNS, Candle
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.domain.window import Window, WindowSpec
from ghostcandle.models.inputs import prepare_window
from ghostcandle.store.candles import CandleStore, MissingCandlesError


class _Series:
    __slots__ = ("capacity", "inputs", "n", "open_time", "users", "values", "windows")

    def __init__(self, capacity: int, users: int) -> None:
        # twice the capacity, compacted when full: appends stay O(1) amortised
        self.capacity = capacity
        #: the sessions tracking the series (dropped at none)
        self.users = users
        self.open_time = np.empty(2 * capacity, dtype=np.int64)
        self.values = np.empty((2 * capacity, 5), dtype=np.float64)
        self.n = 0
        #: the windows handed out since the last change, by length (the same object to every
        #: model until a candle arrives: its hash and normalisation are computed once)
        self.windows: dict[int, Window] = {}
        #: each handed-out window's normalised input and parameters, by length (the same
        #: for every model and baseline: ``prepare_window`` reads nothing else)
        self.inputs: dict[int, tuple[np.ndarray, dict[str, float]]] = {}

    def changed(self) -> None:
        self.windows.clear()
        self.inputs.clear()

    def load(self, open_time: np.ndarray, values: np.ndarray) -> None:
        k = min(len(open_time), self.capacity)
        self.open_time[:k] = open_time[len(open_time) - k :]
        self.values[:k] = values[len(values) - k :]
        self.n = k
        self.changed()

    def append(self, t: int, row: tuple[float, float, float, float, float]) -> None:
        if self.n == len(self.open_time):
            keep = self.capacity
            self.open_time[:keep] = self.open_time[self.n - keep : self.n]
            self.values[:keep] = self.values[self.n - keep : self.n]
            self.n = keep
        self.open_time[self.n] = t
        self.values[self.n] = row
        self.n += 1
        self.changed()

    @property
    def last(self) -> int | None:
        return None if self.n == 0 else int(self.open_time[self.n - 1])


class WindowCache:
    """Recent closed candles per ``(symbol, timeframe)``, for windows of at most ``capacity``."""

    def __init__(self, store: CandleStore) -> None:
        self.store = store
        self._series: dict[tuple[str, str], _Series] = {}
        self.reloads = 0
        self._lock = threading.RLock()

    def track(self, symbol: str, timeframe: str, capacity: int, known_at: int) -> None:
        """Start tracking a series, loading its candles closed by ``known_at`` from the store.

        A series another session tracks already is shared, as it is: it knows the candles
        whose events the sessions have been handed. One reloaded for a longer window ends at
        the same candle, whatever ``known_at`` says: candles stored since but not yet handed
        out (a bus behind) stay unknown to every session until their events come.
        """
        key = (symbol, timeframe)
        with self._lock:
            old = self._series.get(key)
            if old is not None and old.capacity >= capacity:
                old.users += 1
                return
            new = _Series(capacity, 1 if old is None else old.users + 1)
            last = None if old is None else old.last
            if last is not None:
                known_at = last + duration_ms(timeframe)
            self._load(new, symbol, timeframe, known_at)
            self._series[key] = new  # loaded: a failed read changes nothing

    def untrack(self, symbol: str, timeframe: str) -> None:
        """Stop tracking a series for one session; forget it when no session tracks it."""
        key = (symbol, timeframe)
        with self._lock:
            s = self._series.get(key)
            if s is None:
                return
            s.users -= 1
            if s.users <= 0:
                del self._series[key]

    def tracked(self) -> dict[tuple[str, str], int]:
        """Return the sessions tracking each series (for tests and diagnostics)."""
        with self._lock:
            return {key: s.users for key, s in self._series.items()}

    def _load(self, s: _Series, symbol: str, timeframe: str, known_at: int) -> None:
        d = duration_ms(timeframe)
        end = known_at - known_at % d - d  # last candle with close_time <= known_at
        df = self.store.tail(symbol, timeframe, end, s.capacity)
        s.load(
            df["open_time"].to_numpy(dtype=np.int64),
            df[list(VALUE_COLUMNS)].to_numpy(dtype=np.float64),
        )
        self.reloads += 1

    def last_open_time(self, symbol: str, timeframe: str) -> int | None:
        """Return the open time of the newest known candle of the series."""
        with self._lock:
            s = self._series.get((symbol, timeframe))
            return None if s is None else s.last

    def on_candle(self, candle: Candle) -> None:
        """Add a closed candle; after a gap or out of order, reload the series from the store.

        A candle the series knows already (another session of the cache added it) is skipped.
        """
        with self._lock:
            self._on_candle(candle)

    def _on_candle(self, candle: Candle) -> None:
        s = self._series.get((candle.symbol, candle.timeframe))
        if s is None:
            return
        last = s.last
        if last is not None and candle.open_time <= last:
            return  # already known (a replayed or duplicated event)
        if last is not None and candle.open_time != last + duration_ms(candle.timeframe):
            self._load(s, candle.symbol, candle.timeframe, candle.close_time)
            return
        s.append(
            candle.open_time, (candle.open, candle.high, candle.low, candle.close, candle.volume)
        )

    def window(self, symbol: str, timeframe: str, length: int, until: int | None = None) -> Window:
        """Return the last ``length`` known candles of the series, exactly, as a ``Window``.

        ``until``: only candles closed by then (a decision's time). The series may know later
        ones where a session started while its bus was behind (loaded from the store, their
        events still queued): the window then ends before them, made afresh and never held
        (read from the store where the series does not reach back that far).
        Raise ``MissingCandlesError`` if fewer are known or they are not consecutive. Until
        the series changes, the same read-only window is returned for the same length.
        """
        with self._lock:
            s = self._series.get((symbol, timeframe))
            last = None if s is None else s.last
            if s is None or last is None:
                raise MissingCandlesError(symbol, timeframe, [])
            d = duration_ms(timeframe)
            if until is not None and last + d > until:
                end = int(np.searchsorted(s.open_time[: s.n], until - d, side="right"))
                if end >= length:
                    return _cut(s, symbol, timeframe, length, end)
                # the series does not reach back that far: the store's window (rare)
                newest = until - until % d - d
                return self.store.window(symbol, WindowSpec(timeframe, newest, length))
            held = s.windows.get(length)
            if held is None:
                held = s.windows[length] = _cut(s, symbol, timeframe, length, s.n)
            return held

    def prepared(self, window: Window) -> tuple[np.ndarray, dict[str, float]]:
        """Return ``window``'s normalised input and parameters (``models.inputs.prepare_window``).

        Computed once per window the cache handed out, for every model reading it until the
        series changes; a window not held here (another cache's) is prepared every time.
        """
        spec = window.spec
        with self._lock:
            s = self._series.get((window.symbol, spec.timeframe))
            if s is not None and s.windows.get(spec.length) is window:
                held = s.inputs.get(spec.length)
                if held is None:
                    held = s.inputs[spec.length] = prepare_window(spec.timeframe, window.values)
                return held
        return prepare_window(spec.timeframe, window.values)


def _cut(s: _Series, symbol: str, timeframe: str, length: int, end: int) -> Window:
    """Return the ``length`` candles of ``s`` before index ``end`` as a read-only window.

    Raise ``MissingCandlesError`` if fewer are known or they are not consecutive.
    """
    if end == 0:
        raise MissingCandlesError(symbol, timeframe, [])
    spec = WindowSpec(timeframe, int(s.open_time[end - 1]), length)
    if end < length:
        have = set(s.open_time[:end].tolist())
        missing = [int(t) for t in spec.open_times() if int(t) not in have]
        raise MissingCandlesError(symbol, timeframe, missing)
    t = s.open_time[end - length : end].copy()
    if int(t[-1] - t[0]) != (length - 1) * duration_ms(timeframe):
        expected = spec.open_times()
        raise MissingCandlesError(symbol, timeframe, [int(x) for x in np.setdiff1d(expected, t)])
    values = s.values[end - length : end].copy()
    t.flags.writeable = False
    values.flags.writeable = False
    return Window(symbol, spec, t, values)


#: the caches shared by the sessions handed the same events, by that source, then database
_shared: WeakKeyDictionary[object, dict[str, WindowCache]] = WeakKeyDictionary()
_shared_lock = threading.Lock()


def open_cache(
    store: CandleStore,
    symbols: Sequence[str],
    windows: Mapping[str, int],
    known_at: int,
    *,
    shared_by: object | None = None,
) -> WindowCache:
    """Return a cache tracking ``windows`` (length per timeframe) of every symbol.

    ``shared_by``: what hands the session its candle events (its bus); the sessions of one
    source and database share a cache (see the module doc). ``close_cache`` ends a session's
    use. Raise a one-line ``DataMissingError`` naming every series the store lacks, tracking
    nothing.
    """
    problems = []
    for symbol in symbols:
        missing = [tf for tf in windows if store.last_open_time(symbol, tf) is None]
        if missing:
            have = sorted({s.timeframe for s in store.series() if s.symbol == symbol})
            problems.append(
                f"{symbol} has no {', '.join(missing)} candles (stored: "
                f"{', '.join(have) or 'none'})"
            )
    if problems:
        raise DataMissingError(
            "; ".join(problems)
            + ": drop those timeframes (--timeframes) or ingest/stream their candles"
        )
    if shared_by is None:
        cache = WindowCache(store)
    else:
        with _shared_lock:
            caches = _shared.setdefault(shared_by, {})
            key = str(store.db.path)
            held = caches.get(key)
            cache = held if held is not None else caches.setdefault(key, WindowCache(store))
    tracked: list[tuple[str, str]] = []
    try:
        for symbol in symbols:
            for tf, n in windows.items():
                cache.track(symbol, tf, n, known_at)
                tracked.append((symbol, tf))
    except BaseException:
        for symbol, tf in tracked:
            cache.untrack(symbol, tf)
        raise
    return cache


def close_cache(cache: WindowCache, symbols: Sequence[str], windows: Mapping[str, int]) -> None:
    """End one session's use of the series ``open_cache`` tracked for it."""
    for symbol in symbols:
        for tf in windows:
            cache.untrack(symbol, tf)

"""The simulator's market: base candles (1s synthetic, or replayed real ones) and their roll-ups.

The market is the simulator's own record: every candle it serves, over REST or WebSocket, is
computed here from the base candles whose close time has passed, so what it served closed can be
compared exactly with what a connector stored.
"""

from __future__ import annotations

import threading
import zlib

import numpy as np
import pandas as pd

from ghostcandle.domain.candles import VALUE_COLUMNS, Candle, canonical
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import duration_ms

_CHUNK = 3600  # base candles generated at a time


def _q(x: float) -> float:
    """Round to the 8 decimals the wire format carries, so the record equals what is sent."""
    return float(f"{x:.8f}")


class BaseSeries:
    """One symbol's base candles on a full time grid from ``first_open`` (NaN where missing)."""

    def __init__(self, timeframe: str, first_open: int, values: np.ndarray) -> None:
        self.timeframe = timeframe
        self.step = duration_ms(timeframe)
        self.first_open = first_open
        self.values = values  # shape (n, 5): open, high, low, close, volume
        self.lock = threading.Lock()

    @property
    def end(self) -> int:
        """Return the open time after the last base candle held."""
        return self.first_open + len(self.values) * self.step

    def extend_to(self, t_ms: int) -> None:
        """Make sure base candles exist up to ``t_ms`` (replayed data cannot grow: no-op)."""

    def aggregate(self, interval: str, open_time: int, upto: int) -> Candle | None:
        """Return the ``interval`` candle at ``open_time`` from base candles closed by ``upto``.

        None when no base candle of it has closed (or the market has none there).
        """
        d = duration_ms(interval)
        hi_t = min(open_time + d, upto - upto % self.step)
        self.extend_to(hi_t)
        with self.lock:
            i0 = max(0, (open_time - self.first_open) // self.step)
            i1 = min(len(self.values), max(0, (hi_t - self.first_open) // self.step))
            if i1 <= i0:
                return None
            part = self.values[i0:i1]
            ok = ~np.isnan(part[:, 0])
            if not ok.any():
                return None
            part = part[ok]
        return Candle(
            "",
            interval,
            open_time,
            _q(float(part[0, 0])),
            _q(float(part[:, 1].max())),
            _q(float(part[:, 2].min())),
            _q(float(part[-1, 3])),
            _q(float(part[:, 4].sum())),
        )

    def last_price(self, upto: int) -> float | None:
        """Return the close of the newest base candle closed by ``upto``."""
        self.extend_to(upto)
        with self.lock:
            i = min(len(self.values), (upto - self.first_open) // self.step) - 1
            while i >= 0 and np.isnan(self.values[i, 3]):
                i -= 1
            return None if i < 0 else float(self.values[i, 3])


class SyntheticSeries(BaseSeries):
    """A seeded synthetic 1s market generated lazily, one hour at a time (deterministic)."""

    def __init__(self, symbol: str, first_open: int, seed: int, start_price: float) -> None:
        super().__init__("1s", first_open - first_open % 1000, np.empty((0, 5)))
        self._seed = seed ^ zlib.crc32(symbol.encode())
        self._price = start_price
        self._chunks = 0

    def extend_to(self, t_ms: int) -> None:
        """Generate base candles until they reach ``t_ms``."""
        with self.lock:
            while self.end < t_ms:
                df = synthetic_candles(
                    _CHUNK,
                    "1s",
                    start_ms=self.end,
                    seed=self._seed * 100_003 + self._chunks,
                    start_price=self._price,
                )
                block = df[list(VALUE_COLUMNS)].to_numpy(np.float64)
                self.values = np.vstack([self.values, block])
                self._price = float(block[-1, 3])
                self._chunks += 1


def replay_series(df: pd.DataFrame, timeframe: str) -> BaseSeries:
    """Lay stored candles (validated, canonical) on a full grid for replay."""
    df = canonical(df)
    if df.empty:
        raise UserInputError("the replay source has no candles: give a file with candle rows")
    step = duration_ms(timeframe)
    t = df["open_time"].to_numpy(np.int64)
    first = int(t[0])
    n = int((t[-1] - first) // step) + 1
    values = np.full((n, 5), np.nan)
    values[(t - first) // step] = df[list(VALUE_COLUMNS)].to_numpy()
    return BaseSeries(timeframe, first, values)


def start_price(symbol: str, index: int) -> float:
    """Return a plausible synthetic start price for ``symbol``."""
    if symbol.startswith("BTC"):
        return 60_000.0
    if symbol.startswith("ETH"):
        return 3_000.0
    return round(10.0 * (1 + index), 2)


class Market:
    """The symbols, the intervals served and every symbol's base series."""

    def __init__(self, series: dict[str, BaseSeries], intervals: tuple[str, ...], label: str):
        base = {s.step for s in series.values()}
        for interval in intervals:
            if any(duration_ms(interval) % b for b in base):
                raise UserInputError(
                    f"interval {interval} is finer than the market's base candles: "
                    "drop it or use a finer source"
                )
        self.series = series
        self.intervals = intervals
        self.label = label

    @property
    def symbols(self) -> tuple[str, ...]:
        """Return the symbols traded."""
        return tuple(self.series)

    def first_open(self, symbol: str) -> int:
        """Return when trading in ``symbol`` began."""
        return self.series[symbol].first_open

    def candle(self, symbol: str, interval: str, open_time: int, upto: int) -> Candle | None:
        """Return the candle as known at ``upto`` (closed if ``upto >= close_time``)."""
        c = self.series[symbol].aggregate(interval, open_time, upto)
        if c is None:
            return None
        return Candle(symbol, interval, c.open_time, c.open, c.high, c.low, c.close, c.volume)

    def forming_candle(
        self, symbol: str, interval: str, open_time: int, upto: int
    ) -> Candle | None:
        """Return the candle opening at ``open_time`` as known at ``upto``, even before any trade.

        Like an exchange, a candle exists from its open: with no base candle of it closed yet it
        is flat at the last price with no volume. None before the market's first candle.
        """
        c = self.candle(symbol, interval, open_time, upto)
        if c is not None:
            return c
        price = self.series[symbol].last_price(upto)
        if price is None:
            return None
        p = _q(price)
        return Candle(symbol, interval, open_time, p, p, p, p, 0.0)

    def closed_candles(
        self, symbol: str, interval: str, start: int, end: int, upto: int, limit: int = 1000
    ) -> list[Candle]:
        """Return up to ``limit`` candles closed by ``upto`` opening in ``[start, end]``."""
        d = duration_ms(interval)
        first = self.first_open(symbol)
        t = max(start - start % d, first - first % d)
        last = min(end, upto - d)
        out: list[Candle] = []
        while t <= last and len(out) < limit:
            c = self.candle(symbol, interval, t, upto)
            if c is not None:
                out.append(c)
            t += d
        return out


def synthetic_market(
    symbols: tuple[str, ...],
    intervals: tuple[str, ...],
    *,
    start_ms: int,
    seed: int,
) -> Market:
    """Return a SYNTHETIC market whose 1s history begins at ``start_ms``."""
    series: dict[str, BaseSeries] = {
        s: SyntheticSeries(s, start_ms, seed, start_price(s, i)) for i, s in enumerate(symbols)
    }
    return Market(series, intervals, f"SYNTHETIC market (seed {seed})")

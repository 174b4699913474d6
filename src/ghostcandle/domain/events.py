"""Messages published on the bus. Frozen: a message is never changed after it is published."""

from __future__ import annotations

from dataclasses import dataclass

from ghostcandle.domain.candles import Candle


def candle_topic(symbol: str, timeframe: str) -> str:
    """Return the bus topic of closed candles of one series (``candles.ETH/USDT.1m``)."""
    return f"candles.{symbol}.{timeframe}"


@dataclass(frozen=True, slots=True)
class CandleCompletionEvent:
    """A candle closed: published at ``candle.close_time`` once it is stored."""

    symbol: str
    timeframe: str
    candle: Candle

    @property
    def time(self) -> int:
        """Return when the event became known (the candle's close time)."""
        return self.candle.close_time


def pivot_topic(symbol: str, timeframe: str) -> str:
    """Return the bus topic of confirmed pivots of one series (``pivots.ETH/USDT.1m``)."""
    return f"pivots.{symbol}.{timeframe}"


def rapid_move_topic(symbol: str, timeframe: str) -> str:
    """Return the bus topic of rapid price moves of one series."""
    return f"rapid_moves.{symbol}.{timeframe}"


@dataclass(frozen=True, slots=True)
class Pivot:
    """A confirmed swing point (Williams market structure).

    ``pivot_time`` is the open time of the candle where the extreme happened; ``confirmed_at``
    is the close time of the candle whose arrival confirmed it. It never changes afterwards.
    ``pivot_type`` is ``L{level}{H|L}`` (``L2H``: level-2 high).
    """

    symbol: str
    timeframe: str
    pivot_time: int
    price: float
    pivot_type: str
    level: int
    strength: float
    confirmed_at: int

    @property
    def is_high(self) -> bool:
        """Tell whether this is a swing high."""
        return self.pivot_type.endswith("H")


@dataclass(frozen=True, slots=True)
class PivotEvent:
    """A pivot was confirmed: published at ``pivot.confirmed_at``."""

    symbol: str
    timeframe: str
    pivot: Pivot

    @property
    def time(self) -> int:
        """Return when the event became known."""
        return self.pivot.confirmed_at


@dataclass(frozen=True, slots=True)
class RapidMoveEvent:
    """Price moved unusually fast: ``kind`` is ``velocity`` or ``volatility_spike``."""

    symbol: str
    timeframe: str
    kind: str
    open_time: int
    detected_at: int
    value: float
    threshold: float
    direction: int

    @property
    def time(self) -> int:
        """Return when the event became known."""
        return self.detected_at

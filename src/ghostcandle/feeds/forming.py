"""Forming (still open) candles: shown by the UI, never stored, on their own bus topic."""

from __future__ import annotations

from dataclasses import dataclass


def forming_topic(symbol: str, timeframe: str) -> str:
    """Return the bus topic of one series' forming candle (``forming.ETH/USDT.1m``)."""
    return f"forming.{symbol}.{timeframe}"


@dataclass(frozen=True, slots=True)
class FormingCandle:
    """An open candle as the exchange last reported it: it may still change."""

    symbol: str
    timeframe: str
    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    event_time: int

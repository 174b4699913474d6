"""The data-provider facade: subscribe to closed candles, confirmed pivots and rapid moves.

One small object over the in-order ``MessageBus``. Every ``subscribe_*`` call returns the bus
``Subscription``; call its ``cancel()`` to unsubscribe. A callback that raises is logged and
counted in ``bus.errors`` under the callback's name; the other subscribers still get the event.

>>> from ghostcandle.messaging.bus import MessageBus
>>> provider = DataProvider(MessageBus())
>>> seen = []
>>> sub = provider.subscribe_pivot_events(seen.append, "ETH/USDT", "1m", ["L2H"])
>>> sub.cancel()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import (
    CandleCompletionEvent,
    PivotEvent,
    RapidMoveEvent,
    candle_topic,
    pivot_topic,
    rapid_move_topic,
)
from ghostcandle.domain.pivots import ALL_PIVOT_TYPES
from ghostcandle.domain.timeframes import check_timeframe
from ghostcandle.messaging.bus import MessageBus, Subscription


def _name(callback: Callable[..., None]) -> str:
    return str(getattr(callback, "__qualname__", repr(callback)))


class DataProvider:
    """Subscribe callbacks to the events of one ``(symbol, timeframe)`` series."""

    def __init__(self, bus: MessageBus) -> None:
        self.bus = bus

    def subscribe_candle_completion(
        self,
        callback: Callable[[CandleCompletionEvent], None],
        symbol: str,
        timeframe: str,
    ) -> Subscription:
        """Call ``callback`` with every ``CandleCompletionEvent`` of the series, in order."""
        topic = candle_topic(symbol, check_timeframe(timeframe))
        return self.bus.subscribe(topic, callback, name=_name(callback))

    def subscribe_pivot_events(
        self,
        callback: Callable[[PivotEvent], None],
        symbol: str,
        timeframe: str,
        pivot_types: Iterable[str] | None = None,
    ) -> Subscription:
        """Call ``callback`` with every confirmed pivot of the series whose type is wanted.

        ``pivot_types`` are names like ``L1H`` or ``L3L`` (levels 1-5, ``H`` or ``L``); ``None``
        means all of them.
        """
        topic = pivot_topic(symbol, check_timeframe(timeframe))
        if pivot_types is None:
            return self.bus.subscribe(topic, callback, name=_name(callback))
        wanted = frozenset(pivot_types)
        unknown = sorted(wanted - ALL_PIVOT_TYPES)
        if unknown or not wanted:
            raise UserInputError(
                f"unknown pivot type(s) {unknown or '(none given)'}: "
                f"use names like L1H or L3L from {sorted(ALL_PIVOT_TYPES)}"
            )

        def deliver(event: PivotEvent) -> None:
            if event.pivot.pivot_type in wanted:
                callback(event)

        return self.bus.subscribe(topic, deliver, name=_name(callback))

    def subscribe_rapid_moves(
        self,
        callback: Callable[[RapidMoveEvent], None],
        symbol: str,
        timeframe: str,
    ) -> Subscription:
        """Call ``callback`` with every ``RapidMoveEvent`` of the series, in order."""
        topic = rapid_move_topic(symbol, check_timeframe(timeframe))
        return self.bus.subscribe(topic, callback, name=_name(callback))

"""Route the live stream's frames: closed candles to the builder, forming ones to the bus,
depth to its recorder or local books, ``serverShutdown`` back to the connection loop."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import Clock
from ghostcandle.feeds.binance_format import (
    BadMessageError,
    DepthDiff,
    DepthUpdate,
    KlineUpdate,
    ServerShutdown,
    parse_message,
)
from ghostcandle.feeds.candle_builder import CandleBuilder
from ghostcandle.feeds.config import FeedConfig
from ghostcandle.feeds.depth import DepthRecorder
from ghostcandle.feeds.forming import FormingCandle, forming_topic
from ghostcandle.feeds.local_book import LiveBooks
from ghostcandle.messaging.bus import MessageBus

log = logging.getLogger(__name__)


class StreamRouter:
    """Handle frames one by one; count them in the feed's ``counters`` and ``rejected``.

    ``delivered`` turns True on the first frame that carried data (the connection loop resets
    it per connection: a link that delivers resets the back-off); ``on_resync(symbol)`` is
    called when a local book needs a new REST snapshot.
    """

    def __init__(
        self,
        *,
        config: FeedConfig,
        clock: Clock,
        builder: CandleBuilder,
        bus: MessageBus,
        depth: DepthRecorder,
        books: LiveBooks | None,
        counters: Counter[str],
        rejected: Counter[str],
        on_resync: Callable[[str], None],
    ) -> None:
        self.config, self.clock = config, clock
        self.builder, self.bus, self.depth, self.books = builder, bus, depth, books
        self.counters, self.rejected = counters, rejected
        self.on_resync = on_resync
        self.last_message_at: int | None = None
        self.delivered = False

    def handle(self, raw: str | bytes) -> bool:
        """Handle one frame; return True when the server asked us to reconnect."""
        received = time.perf_counter_ns()
        self.last_message_at = self.clock.now_ms()
        self.counters["messages"] += 1
        try:
            msg = parse_message(raw)
        except BadMessageError as exc:
            self.rejected[exc.reason] += 1
            log.debug("rejected a message: %s", exc)
            return False
        if isinstance(msg, ServerShutdown):
            log.info("feed %s: serverShutdown received: reconnecting", self.config.name)
            self.counters["server_shutdowns"] += 1
            return True
        self.delivered = True
        if isinstance(msg, KlineUpdate):
            if msg.closed:
                self.builder.submit(
                    [msg.candle], provenance=CandleSource.WEBSOCKET, received_ns=received
                )
            elif self.config.publish_forming:
                c = msg.candle
                forming = FormingCandle(
                    c.symbol, c.timeframe, c.open_time, c.open, c.high, c.low, c.close,
                    c.volume, msg.event_time,
                )  # fmt: skip
                # only the newest forming update of a series matters: a queued one is replaced
                self.bus.publish(forming_topic(c.symbol, c.timeframe), forming, coalesce=True)
        elif isinstance(msg, DepthUpdate):
            self.depth.offer(msg)
        elif (
            isinstance(msg, DepthDiff)
            and self.books is not None
            and self.books.diff(msg.symbol, msg.diff)
        ):
            self.on_resync(msg.symbol)
        return False

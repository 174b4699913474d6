"""The live feed's configuration (frozen, keyword-only)."""

from __future__ import annotations

from dataclasses import dataclass

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import DEFAULT_SYMBOLS, normalise_symbol
from ghostcandle.domain.timeframes import DEFAULT_TIMEFRAMES, check_timeframe

BINANCE_WS_URL = "wss://stream.binance.com:9443"
BINANCE_REST_URL = "https://api.binance.com"
#: How the feed follows the book: ``depth20`` takes the exchange's top-20 partial book every
#: 100 ms; ``diff`` keeps a full local book from the diff stream and REST snapshots
#: (``feeds/local_book.py``). Both store the same per-second top-20 snapshots.
DEPTH_MODES = ("depth20", "diff")
#: The live queue between the feed and its subscribers (the live session): at most this many
#: closed candles and other events wait; the candle builder then waits too (nothing is
#: dropped), forming updates are coalesced, and the lag shows in the feed's health.
LIVE_QUEUE_MAX = 1000


@dataclass(frozen=True, kw_only=True)
class FeedConfig:
    """Where to connect, what to subscribe to, and how to behave on faults.

    ``history_candles``: closed candles loaded over REST for a series with nothing stored
    (0: start with the first closed candle streamed). ``max_connection_s``: reconnect before
    the exchange's 24-hour cut-off. ``stale_after_s``: reconnect after this long without any
    message. ``seed`` makes the reconnect jitter reproducible. ``status_file``: also write the
    health there as JSON (atomically), for ``ghostcandle status`` while this process holds the
    database. ``poll_every_s``: while the stream is down, fetch closed candles over REST this
    often. ``give_up_after_s``: stop when neither the stream nor REST answered for this long
    (None: never). ``depth_mode``: see ``DEPTH_MODES``; ``depth_snapshot_limit``: levels per side of
    the REST snapshot a ``diff`` book starts from.
    """

    name: str = "binance"
    exchange: str = "binance"
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    intervals: tuple[str, ...] = DEFAULT_TIMEFRAMES
    rest_url: str = BINANCE_REST_URL
    ws_url: str = BINANCE_WS_URL
    depth: bool = True
    depth_mode: str = "depth20"
    depth_snapshot_ms: int = 1000
    depth_snapshot_limit: int = 1000
    history_candles: int = 1000
    publish_forming: bool = True
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 30.0
    max_connection_s: float = 23.5 * 3600
    stale_after_s: float = 30.0
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 20.0
    open_timeout_s: float = 10.0
    status_every_s: float = 1.0
    poll_every_s: float = 1.0
    give_up_after_s: float | None = None
    seed: int | None = None
    status_file: str | None = None

    def __post_init__(self) -> None:
        if not self.symbols:
            raise UserInputError("no symbol given: pass --symbols ETH/USDT,BTC/USDT")
        if not self.intervals:
            raise UserInputError("no interval given: pass --intervals 1s,1m,1h,1d")
        object.__setattr__(self, "symbols", tuple(normalise_symbol(s) for s in self.symbols))
        for i in self.intervals:
            check_timeframe(i)
        if self.depth_mode not in DEPTH_MODES:
            raise UserInputError(f"--depth {self.depth_mode}: give one of {', '.join(DEPTH_MODES)}")
        if not 1 <= self.depth_snapshot_limit <= 5000:
            raise UserInputError("the depth snapshot limit must be 1..5000 levels")
        if self.poll_every_s <= 0:
            raise UserInputError("the REST poll period must be positive")
        if self.give_up_after_s is not None and self.give_up_after_s <= 0:
            raise UserInputError("--give-up-after must be positive (or omitted: never give up)")
        if self.reconnect_min_s <= 0 or self.reconnect_max_s < self.reconnect_min_s:
            raise UserInputError("reconnect delays must be positive with min <= max")

    def series(self) -> list[tuple[str, str]]:
        """Return every (symbol, interval) pair the feed keeps."""
        return [(s, i) for s in self.symbols for i in self.intervals]

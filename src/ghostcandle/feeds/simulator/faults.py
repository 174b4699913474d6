"""Fault injection for the exchange simulator: each fault is one field, off by default."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Faults:
    """What the simulator does wrong, on purpose.

    - ``drop_before_close_ms``: cut every connection abruptly this long (simulated time) before
      every ``drop_every``-th close of ``drop_interval`` (default: the finest served interval).
    - ``delay_ms``: deliver every stream message this much later (order kept).
    - ``duplicate_every`` / ``reorder_every``: send every n-th message twice / swapped with the
      next one.
    - ``ignore_pings_after_s``: stop reading from (and so answering pings on) a connection this
      long after it opened; data keeps flowing, as on a half-dead link.
    - ``shutdown_after_s``: send ``serverShutdown`` this long after a connection opened, then
      close it ``shutdown_grace_s`` later.
    - ``max_connection_s``: close connections older than this (Binance cuts at 24 hours).
    - ``malformed_every``: after every n-th message send a malformed one (bad JSON, missing
      fields, NaN, high < low, a frame far too large, in turn).
    - ``rest_429_every``: answer every n-th REST request with 429 and ``Retry-After``.
    - ``rest_418``: answer every ``/api/v3/klines`` request with 418 (banned).
    - ``rest_depth_delay_ms``: answer a REST depth snapshot this long after taking it (as a
      busy exchange does: diffs newer than it stream meanwhile).
    - ``depth_gap_every``: withhold every n-th diff of each symbol's ``depth@100ms`` stream (a
      sequence gap a local book must resynchronise from).
    - ``drop_every_s``: cut every connection abruptly every this many wall seconds (a link that
      drops every few seconds, whatever the candles do).
    - ``ws_down``: refuse every WebSocket handshake (HTTP 503) while REST keeps answering (the
      stream is down, the exchange is not).
    - ``crossed_book_every``: every n-th diff, hold a bid above the best ask for
      ``crossed_book_for`` diffs (a crossed book, to be rejected).
    """

    drop_before_close_ms: int = 0
    drop_every: int = 1
    drop_interval: str | None = None
    delay_ms: int = 0
    duplicate_every: int = 0
    reorder_every: int = 0
    ignore_pings_after_s: float = 0.0
    shutdown_after_s: float = 0.0
    shutdown_grace_s: float = 0.3
    max_connection_s: float = 0.0
    malformed_every: int = 0
    rest_429_every: int = 0
    retry_after_s: float = 1.0
    rest_418: bool = False
    rest_depth_delay_ms: int = 0
    depth_gap_every: int = 0
    crossed_book_every: int = 0
    crossed_book_for: int = 15
    drop_every_s: float = 0.0
    ws_down: bool = False

    def active(self) -> list[str]:
        """Return the names of the faults switched on."""
        on = []
        for name in (
            "drop_before_close_ms",
            "delay_ms",
            "duplicate_every",
            "reorder_every",
            "ignore_pings_after_s",
            "shutdown_after_s",
            "max_connection_s",
            "malformed_every",
            "rest_429_every",
            "rest_418",
            "rest_depth_delay_ms",
            "depth_gap_every",
            "crossed_book_every",
            "drop_every_s",
            "ws_down",
        ):
            if getattr(self, name):
                on.append(name)
        return on

"""The health of a live feed: what ``ghostcandle status`` and the API show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FeedHealth:
    """A snapshot of one feed's state at ``at`` (epoch ms)."""

    name: str
    exchange: str
    url: str
    at: int
    connected: bool
    last_message_at: int | None
    reconnects: int
    gaps_backfilled: int
    candles_backfilled: int
    messages_rejected: int
    candles_stored: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    last_error: str = ""
    #: what the feed does, in words: connecting, connected, reconnecting, "stream down,
    #: polling" (closed candles come over REST meanwhile), unreachable (gave up), stopped
    state: str = ""
    #: when the stream went down (epoch ms; None while connected)
    down_since: int | None = None
    #: when the next connection attempt is due (epoch ms; None unless waiting to reconnect)
    retry_at: int | None = None
    #: messages queued between the feed and its subscribers (the live session), and how long
    #: the oldest of them has waited: how far the live view lags the feed
    queue_depth: int = 0
    queue_oldest_age_ms: int = 0

    @property
    def last_message_age_ms(self) -> int | None:
        """Return how long ago the last message arrived."""
        return None if self.last_message_at is None else max(0, self.at - self.last_message_at)

    @property
    def down_for_ms(self) -> int | None:
        """Return how long the stream has been down (None while connected)."""
        return None if self.down_since is None else max(0, self.at - self.down_since)

    @property
    def retry_in_ms(self) -> int | None:
        """Return how long until the next connection attempt (None unless waiting)."""
        return None if self.retry_at is None else max(0, self.retry_at - self.at)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "name": self.name,
            "exchange": self.exchange,
            "url": self.url,
            "at": self.at,
            "connected": self.connected,
            "last_message_at": self.last_message_at,
            "last_message_age_ms": self.last_message_age_ms,
            "reconnects": self.reconnects,
            "gaps_backfilled": self.gaps_backfilled,
            "candles_backfilled": self.candles_backfilled,
            "messages_rejected": self.messages_rejected,
            "candles_stored": self.candles_stored,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "counters": dict(self.counters),
            "last_error": self.last_error,
            "state": self.state,
            "down_since": self.down_since,
            "down_for_ms": self.down_for_ms,
            "retry_at": self.retry_at,
            "retry_in_ms": self.retry_in_ms,
            "queue_depth": self.queue_depth,
            "queue_oldest_age_ms": self.queue_oldest_age_ms,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> FeedHealth:
        """Rebuild a snapshot from ``to_json`` output (derived fields are ignored)."""
        return FeedHealth(
            name=str(data["name"]),
            exchange=str(data["exchange"]),
            url=str(data["url"]),
            at=int(data["at"]),
            connected=bool(data["connected"]),
            last_message_at=None if (last := data["last_message_at"]) is None else int(last),
            reconnects=int(data["reconnects"]),
            gaps_backfilled=int(data["gaps_backfilled"]),
            candles_backfilled=int(data["candles_backfilled"]),
            messages_rejected=int(data["messages_rejected"]),
            candles_stored=int(data["candles_stored"]),
            rejected_by_reason={str(k): int(v) for k, v in data["rejected_by_reason"].items()},
            counters={str(k): int(v) for k, v in data["counters"].items()},
            last_error=str(data["last_error"]),
            # rows saved before these fields existed have none of them
            state=str(data.get("state", "")),
            down_since=_opt_int(data.get("down_since")),
            retry_at=_opt_int(data.get("retry_at")),
            queue_depth=int(data.get("queue_depth", 0)),
            queue_oldest_age_ms=int(data.get("queue_oldest_age_ms", 0)),
        )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def describe_state(h: FeedHealth | dict[str, Any]) -> str:
    """Return the feed's state with how long the stream has been down and the next retry.

    ``stream down, polling (down 12.3s, retry in 0.8s)``; "-" for a row saved before states.
    """
    data = h.to_json() if isinstance(h, FeedHealth) else h
    state = str(data.get("state") or "-")
    parts = []
    if data.get("down_for_ms") is not None and state not in ("connected", "stopped"):
        parts.append(f"down {int(data['down_for_ms']) / 1000:.1f}s")
    if data.get("retry_in_ms") is not None:
        parts.append(f"retry in {int(data['retry_in_ms']) / 1000:.1f}s")
    return f"{state} ({', '.join(parts)})" if parts else state

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

    @property
    def last_message_age_ms(self) -> int | None:
        """Return how long ago the last message arrived."""
        return None if self.last_message_at is None else max(0, self.at - self.last_message_at)

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
        )

"""Store the health of live feeds (one row per feed, rewritten as it runs)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ghostcandle.store.db import Database


@dataclass(frozen=True, slots=True)
class FeedStatusRow:
    """The last recorded health of one feed."""

    feed: str
    exchange: str
    connected: bool
    last_message_at: int | None
    reconnects: int
    gaps_backfilled: int
    candles_backfilled: int
    messages_rejected: int
    candles_stored: int
    detail: dict[str, Any]
    updated_at: int

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "feed": self.feed,
            "exchange": self.exchange,
            "connected": self.connected,
            "last_message_at": self.last_message_at,
            "reconnects": self.reconnects,
            "gaps_backfilled": self.gaps_backfilled,
            "candles_backfilled": self.candles_backfilled,
            "messages_rejected": self.messages_rejected,
            "candles_stored": self.candles_stored,
            "detail": self.detail,
            "updated_at": self.updated_at,
        }


_COLUMNS = (
    "feed, exchange, connected, last_message_at, reconnects, gaps_backfilled, "
    "candles_backfilled, messages_rejected, candles_stored, detail, updated_at"
)


class FeedStatusStore:
    """Save and list feed health rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, row: FeedStatusRow) -> None:
        """Insert or replace the row of ``row.feed``."""
        with self.db.lock:
            self.db.con.execute(
                f"INSERT OR REPLACE INTO feed_status ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    row.feed,
                    row.exchange,
                    row.connected,
                    row.last_message_at,
                    row.reconnects,
                    row.gaps_backfilled,
                    row.candles_backfilled,
                    row.messages_rejected,
                    row.candles_stored,
                    json.dumps(row.detail, sort_keys=True),
                    row.updated_at,
                ],
            )

    def all(self) -> list[FeedStatusRow]:
        """Return every feed's last recorded health, by name."""
        cur = self.db.cursor()
        rows = cur.execute(f"SELECT {_COLUMNS} FROM feed_status ORDER BY feed").fetchall()
        cur.close()
        return [
            FeedStatusRow(
                str(r[0]),
                str(r[1]),
                bool(r[2]),
                None if r[3] is None else int(r[3]),
                int(r[4]),
                int(r[5]),
                int(r[6]),
                int(r[7]),
                int(r[8]),
                json.loads(r[9]),
                int(r[10]),
            )
            for r in rows
        ]

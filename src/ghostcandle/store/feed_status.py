"""Store the health of live feeds (one row per feed, rewritten as it runs)."""

from __future__ import annotations

import json

from ghostcandle.domain.feed_health import FeedHealth
from ghostcandle.store.db import Database

_COLUMNS = (
    "feed, exchange, connected, last_message_at, reconnects, gaps_backfilled, "
    "candles_backfilled, messages_rejected, candles_stored, detail, updated_at"
)


class FeedStatusStore:
    """Save and list feed health rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, health: FeedHealth) -> None:
        """Insert or replace the row of ``health.name`` (its columns, and the whole snapshot)."""
        with self.db.lock:
            self.db.con.execute(
                f"INSERT OR REPLACE INTO feed_status ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    health.name,
                    health.exchange,
                    health.connected,
                    health.last_message_at,
                    health.reconnects,
                    health.gaps_backfilled,
                    health.candles_backfilled,
                    health.messages_rejected,
                    health.candles_stored,
                    json.dumps(health.to_json(), sort_keys=True),
                    health.at,
                ],
            )

    def all(self) -> list[FeedHealth]:
        """Return every feed's last recorded health, by name."""
        with self.db.cursor() as cur:
            rows = cur.execute("SELECT detail FROM feed_status ORDER BY feed").fetchall()
        return [FeedHealth.from_json(json.loads(r[0])) for r in rows]

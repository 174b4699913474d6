"""Store the health of live feeds (one row per feed, rewritten as it runs)."""

from __future__ import annotations

import json

from ghostcandle.domain.feed_health import FeedHealth
from ghostcandle.store.db import Database

_COLUMNS = (
    "feed, exchange, connected, last_message_at, reconnects, gaps_backfilled, "
    "candles_backfilled, messages_rejected, candles_stored, detail, updated_at"
)
_SETS = ", ".join(f"{c} = ?" for c in _COLUMNS.split(", ")[1:])


class FeedStatusStore:
    """Save and list feed health rows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, health: FeedHealth) -> None:
        """Replace the row of ``health.name`` (its columns, and the whole snapshot), or add it.

        An update by the key, and an insert when it changed no row, in one transaction: an
        ``INSERT OR REPLACE`` builds a hash table for its conflict check, whose buffers left
        ~4 nodes a save in DuckDB's eviction queues that keep them (``store.id_filters``).
        """
        values = [
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
        ]
        with self.db.transaction() as con:
            got = con.execute(
                f"UPDATE feed_status SET {_SETS} WHERE feed = ?", [*values, health.name]
            ).fetchall()
            if not got or not got[0][0]:
                con.execute(
                    f"INSERT INTO feed_status ({_COLUMNS}) VALUES ({', '.join('?' * 11)})",
                    [health.name, *values],
                )

    def all(self) -> list[FeedHealth]:
        """Return every feed's last recorded health, by name."""
        with self.db.cursor() as cur:
            rows = cur.execute("SELECT detail FROM feed_status ORDER BY feed").fetchall()
        return [FeedHealth.from_json(json.loads(r[0])) for r in rows]

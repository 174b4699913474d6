"""The live feed's health snapshot and its status file (read by ``ghostcandle status``)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ghostcandle.domain.feed_health import FeedHealth

if TYPE_CHECKING:
    from ghostcandle.feeds.live_feed import LiveFeed


def feed_health(feed: LiveFeed) -> FeedHealth:
    """Return ``feed``'s health now: link, back-off, counters and the live queue's lag."""
    b = feed.builder.stats
    lag = feed.bus.lag()
    backlog = feed.builder.backlog
    waiting = backlog.waiting()
    return FeedHealth(
        name=feed.config.name,
        exchange=feed.config.exchange,
        url=feed.config.ws_url,
        at=feed.clock.now_ms(),
        connected=feed.connected,
        last_message_at=feed.router.last_message_at,
        reconnects=feed.counters["reconnects"],
        gaps_backfilled=feed.counters["gaps_backfilled"],
        candles_backfilled=feed.counters["candles_backfilled"],
        messages_rejected=sum(feed.rejected.values()) + sum(feed.builder.rejected.values()),
        candles_stored=b["stored"],
        rejected_by_reason=dict(feed.rejected + feed.builder.rejected),
        counters={
            **dict(feed.counters),
            **{f"builder_{k}": v for k, v in b.items()},
            **feed.depth.counters(),
            **(feed.books.counters() if feed.books is not None else {}),
            "backoff_waited_ms": round(feed.waited_s * 1000),
            "builder_queued": feed.builder.queued(),
            "queue_max_depth": lag.max_depth,
            "queue_coalesced": lag.coalesced,
            "queue_blocked": lag.blocked,
            "queue_blocked_ms": round(lag.blocked_s * 1000),
            "queue_warnings": lag.warnings,
            "queue_refused": lag.refused,
            "events_waiting_in_store": waiting,
        },
        last_error=feed.last_error,
        state=feed.state(),
        down_since=None if feed.connected else feed.down_since,
        retry_at=feed.retry_at,
        # the live queue, and behind it the events waiting (stored) for room in it: the oldest
        # of those has waited there, and waits in the queue about as long as its head did
        queue_depth=lag.depth + waiting,
        queue_oldest_age_ms=round((lag.oldest_age_s + backlog.oldest_age_s()) * 1000),
    )


def write_status_file(path: str, data: dict[str, object]) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp file, then rename)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    os.replace(tmp, target)

"""``ghostcandle status``: the health of the live feeds recorded in the database."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ghostcandle.cli.context import add_common
from ghostcandle.cli.output import emit_json, table
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import OperationalError
from ghostcandle.domain.feed_health import describe_state
from ghostcandle.domain.timeframes import format_time
from ghostcandle.feeds.local_book import book_summary
from ghostcandle.store.db import Database, resolve_db_path
from ghostcandle.store.feed_status import FeedStatusStore
from ghostcandle.store.sessions import SessionStore


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "status",
        help="show live feed health: connected, state (how long down, next retry), last "
        "message age, reconnects, gaps, live queue lag; and each loop session's stored status",
    )
    add_common(p)
    p.set_defaults(handler=run)


def read_feeds(db_path: Path) -> tuple[list[dict[str, Any]], str, list[dict[str, Any]] | None]:
    """Return every feed's last health, where it was read from, and the loop sessions.

    While a feed runs, its process owns the database; its status file beside it is read then,
    and the sessions (None) cannot be read. A session the last writer left live is
    ``interrupted`` once a new writer has opened the database (``SessionStore.mark_interrupted``).
    """
    try:
        with Database(db_path, read_only=True) as db:
            feeds = [h.to_json() | {"updated_at": h.at} for h in FeedStatusStore(db).all()]
            sessions = [
                {"session_id": r.session_id, "kind": r.kind, "status": r.status,
                 "updated_at": r.updated_at, "events": r.events, "train_steps": r.train_steps}
                for r in SessionStore(db).all()
            ]  # fmt: skip
            return feeds, "database", sessions
    except OperationalError:
        side = Path(str(db_path) + ".feed-status.json")
        if not side.is_file():
            raise
        return [json.loads(side.read_text())], "status file of the running feed", None


def run(args: argparse.Namespace) -> int:
    """Print the health table (or JSON)."""
    path = resolve_db_path(args.db)
    feeds, where, sessions = read_feeds(path)
    now = LiveClock().now_ms()
    for f in feeds:
        last = f.get("last_message_at")
        f["last_message_age_ms"] = None if last is None else max(0, now - int(last))
        # ages are told as of now: a stopped feed's row keeps its last instant's
        if f.get("state") not in (None, "stopped", "unreachable"):
            down, retry = f.get("down_since"), f.get("retry_at")
            f["down_for_ms"] = None if down is None else max(0, now - int(down))
            f["retry_in_ms"] = None if retry is None else max(0, int(retry) - now)
    if args.json:
        emit_json({"source": where, "feeds": feeds, "sessions": sessions})
        return 0
    _print_sessions(sessions)
    if not feeds:
        print(f"no live feed has run on {path}: start one with `ghostcandle live` or `make demo`")
        return 0
    rows = [
        [
            f["name"],
            f["url"],
            "yes" if f["connected"] else "no",
            describe_state(f),
            "-" if f["last_message_age_ms"] is None else f"{f['last_message_age_ms'] / 1000:.1f}s",
            f["reconnects"],
            f["gaps_backfilled"],
            f["candles_backfilled"],
            f["messages_rejected"],
            f["candles_stored"],
            f"{f.get('queue_depth', 0)} ({f.get('queue_oldest_age_ms', 0) / 1000:.1f}s)",
        ]
        for f in feeds
    ]
    print(
        table(
            [
                "feed",
                "url",
                "connected",
                "state",
                "last msg",
                "reconnects",
                "gaps filled",
                "backfilled",
                "rejected",
                "stored",
                "queued (oldest)",
            ],
            rows,
        )
    )
    for f in feeds:
        if "book_snapshots" in f.get("counters", {}):
            print(f"{f['name']}: {book_summary(f['counters'])}")
    print(f"(from the {where})")
    return 0


def _print_sessions(sessions: list[dict[str, Any]] | None) -> None:
    """Print the loop sessions' stored status (nothing while another process owns the file)."""
    if not sessions:
        return
    rows = [
        [s["session_id"], s["kind"], s["status"], format_time(s["updated_at"]), s["events"],
         s["train_steps"]]
        for s in sessions
    ]  # fmt: skip
    print(table(["session", "kind", "status", "last write", "events", "train steps"], rows))

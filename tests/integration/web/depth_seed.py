"""Order books for the depth views' tests: written through the real depth store."""

from __future__ import annotations

from pathlib import Path

from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthSnapshot, DepthStore

from .conftest import START

SYMBOL = "ETH/USDT"
LEVELS = 25


def book(time: int, mid: float, step: float = 0.5) -> DepthSnapshot:
    """Return a book of ``LEVELS`` levels per side around ``mid`` (quantity grows with depth)."""
    bids = tuple((mid - step * (i + 1), 1.0 + i) for i in range(LEVELS))
    asks = tuple((mid + step * (i + 1), 2.0 + i) for i in range(LEVELS))
    return DepthSnapshot(SYMBOL, time, time // 1000, bids, asks)


def seed_books(db_path: Path, mids: tuple[float, ...]) -> list[DepthSnapshot]:
    """Store one book a second from ``START`` (the last is the newest); return them."""
    books = [book(START + 1000 * i, m) for i, m in enumerate(mids)]
    with Database(db_path) as db:
        DepthStore(db).write(books, source="test")
    return books

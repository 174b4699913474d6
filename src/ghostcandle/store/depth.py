"""Store compact order-book snapshots (top levels per side) in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from ghostcandle.store.db import Database


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """One symbol's book at ``time``: bids best first (descending), asks ascending."""

    symbol: str
    time: int
    last_update_id: int
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]


class DepthStore:
    """Write and read ``depth_snapshots``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, snapshots: Sequence[DepthSnapshot], *, source: str = "") -> int:
        """Insert snapshots in one statement; one already stored for (symbol, time) is kept.

        Return the number of snapshots given.
        """
        if not snapshots:
            return 0
        table = pa.table(
            {
                "symbol": [s.symbol for s in snapshots],
                "time": pa.array([s.time for s in snapshots], pa.int64()),
                "last_update_id": pa.array([s.last_update_id for s in snapshots], pa.int64()),
                "bid_price": [[p for p, _ in s.bids] for s in snapshots],
                "bid_qty": [[q for _, q in s.bids] for s in snapshots],
                "ask_price": [[p for p, _ in s.asks] for s in snapshots],
                "ask_qty": [[q for _, q in s.asks] for s in snapshots],
                "source": [source] * len(snapshots),
            }
        )
        with self.db.transaction() as con:
            con.register("gc_depth", table)
            try:
                con.execute(
                    "INSERT INTO depth_snapshots SELECT * FROM gc_depth ON CONFLICT DO NOTHING"
                )
            finally:
                con.unregister("gc_depth")
        return len(snapshots)

    def read(
        self, symbol: str, start: int | None = None, end: int | None = None
    ) -> list[DepthSnapshot]:
        """Return the snapshots of ``symbol`` with ``start <= time <= end``, oldest first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT symbol, time, last_update_id, bid_price, bid_qty, ask_price, ask_qty "
                "FROM depth_snapshots WHERE symbol = ? AND time BETWEEN ? AND ? ORDER BY time",
                [symbol, -(2**62) if start is None else start, 2**62 if end is None else end],
            ).fetchall()
        return [
            DepthSnapshot(
                str(r[0]),
                int(r[1]),
                int(r[2]),
                tuple(zip(r[3], r[4], strict=True)),
                tuple(zip(r[5], r[6], strict=True)),
            )
            for r in rows
        ]

    def count(self, symbol: str | None = None) -> int:
        """Return how many snapshots are stored (of ``symbol`` if given)."""
        with self.db.cursor() as cur:
            if symbol is None:
                row = cur.execute("SELECT count(*) FROM depth_snapshots").fetchone()
            else:
                row = cur.execute(
                    "SELECT count(*) FROM depth_snapshots WHERE symbol = ?", [symbol]
                ).fetchone()
        return int(row[0]) if row else 0

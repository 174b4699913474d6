"""The pivot store: confirmed pivots in ``pivot_points``; a confirmed pivot is never rewritten."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import pyarrow as pa

from ghostcandle.domain.events import Pivot
from ghostcandle.domain.timeframes import check_timeframe
from ghostcandle.store.db import Database

_FIELDS = (
    "symbol",
    "timeframe",
    "pivot_time",
    "price",
    "pivot_type",
    "level",
    "strength",
    "confirmed_at",
)
_COLS = ", ".join(_FIELDS)


class PivotStore:
    """Read and write confirmed pivots in a ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, pivots: Sequence[Pivot]) -> int:
        """Store pivots in one transaction (see ``write_in``); return how many were new."""
        with self.db.transaction() as con:
            return self.write_in(con, pivots)

    def write_in(self, con: duckdb.DuckDBPyConnection, pivots: Sequence[Pivot]) -> int:
        """Store pivots inside an open transaction; ones already stored are kept as they are.

        The table has no key (migration 12): a pivot is inserted only where none of its symbol,
        timeframe, type and time is stored, looked up in the batch's pivot-time range (the zone
        maps skip the rest); of one given twice the first is kept. Return how many were new.
        """
        first: dict[tuple[str, str, str, int], Pivot] = {}
        for p in pivots:
            first.setdefault((p.symbol, p.timeframe, p.pivot_type, p.pivot_time), p)
        if not first:
            return 0
        # the stored keys of the batch's range, then a relation from Arrow: no registered view
        # and no anti-join, whose hash table leaves its buffers' nodes in DuckDB's eviction
        # queues (~0.5 KB a write at a live feed's pace, held until a queue passes ~32k nodes)
        times = [k[3] for k in first]
        stored = {
            (str(r[0]), str(r[1]), str(r[2]), int(r[3]))
            for r in con.execute(
                "SELECT symbol, timeframe, pivot_type, pivot_time FROM pivot_points "
                "WHERE pivot_time BETWEEN ? AND ?",
                [min(times), max(times)],
            ).fetchall()
        }
        new = [p for k, p in first.items() if k not in stored]
        if new:
            table = pa.Table.from_pydict({f: [getattr(p, f) for p in new] for f in _FIELDS})
            con.from_arrow(table).insert_into("pivot_points")
        return len(new)

    def read(
        self,
        symbol: str,
        timeframe: str,
        *,
        level: int | None = None,
        pivot_types: Iterable[str] | None = None,
        start: int | None = None,
        end: int | None = None,
        known_at: int | None = None,
    ) -> list[Pivot]:
        """Return pivots with ``start <= pivot_time <= end``, oldest confirmation first.

        ``known_at`` keeps only pivots confirmed by then (what a reader at that time could see).
        """
        check_timeframe(timeframe)
        sql = f"SELECT {_COLS} FROM pivot_points WHERE symbol = ? AND timeframe = ? "
        sql += "AND pivot_time BETWEEN ? AND ? AND confirmed_at <= ?"
        params: list[object] = [
            symbol,
            timeframe,
            -(2**62) if start is None else start,
            2**62 if end is None else end,
            2**62 if known_at is None else known_at,
        ]
        if level is not None:
            sql += " AND level = ?"
            params.append(level)
        if pivot_types is not None:
            sql += " AND list_contains(?, pivot_type)"
            params.append(sorted(pivot_types))
        sql += " ORDER BY confirmed_at, pivot_type LIKE '%L', level, pivot_time"
        with self.db.cursor() as cur:
            rows = cur.execute(sql, params).fetchall()
        return [
            Pivot(
                str(r[0]),
                str(r[1]),
                int(r[2]),
                float(r[3]),
                str(r[4]),
                int(r[5]),
                float(r[6]),
                int(r[7]),
            )
            for r in rows
        ]

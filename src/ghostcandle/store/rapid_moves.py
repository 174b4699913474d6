"""Detected rapid moves (``domain.rapid_moves``) in ``rapid_moves``; an event is never rewritten."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa

from ghostcandle.domain.events import RapidMoveEvent
from ghostcandle.store.db import Database

_FIELDS = (
    "symbol", "timeframe", "kind", "open_time", "detected_at", "value", "threshold", "direction",
)  # fmt: skip


class RapidMoveStore:
    """Read and write rapid-move events in a ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, events: Sequence[RapidMoveEvent]) -> int:
        """Store events in one transaction (see ``write_in``); return how many were new."""
        with self.db.transaction() as con:
            return self.write_in(con, events)

    def write_in(self, con: duckdb.DuckDBPyConnection, events: Sequence[RapidMoveEvent]) -> int:
        """Store events inside an open transaction; one already stored is kept as it is."""
        if not events:
            return 0
        table = pa.Table.from_pydict({f: [getattr(e, f) for e in events] for f in _FIELDS})
        con.register("gc_rapid_staged", table)
        try:
            got = con.execute(
                f"INSERT INTO rapid_moves ({', '.join(_FIELDS)}) SELECT {', '.join(_FIELDS)} "
                "FROM gc_rapid_staged ON CONFLICT DO NOTHING"
            ).fetchall()
            return int(got[0][0]) if got else 0
        finally:
            con.unregister("gc_rapid_staged")

    def detected_times(self, symbol: str, timeframe: str, start: int, end: int) -> np.ndarray:
        """Return when the series' moves were detected in ``[start, end]``, ascending (int64)."""
        with self.db.cursor() as cur:
            got = cur.execute(
                "SELECT detected_at FROM rapid_moves WHERE symbol = ? AND timeframe = ? "
                "AND detected_at BETWEEN ? AND ? ORDER BY detected_at",
                [symbol, timeframe, start, end],
            ).fetchnumpy()
        return np.asarray(got["detected_at"], np.int64)

    def read(self, symbol: str, timeframe: str) -> list[RapidMoveEvent]:
        """Return every stored event of a series, oldest first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {', '.join(_FIELDS)} FROM rapid_moves WHERE symbol = ? AND timeframe = ? "
                "ORDER BY detected_at, kind",
                [symbol, timeframe],
            ).fetchall()
        return [RapidMoveEvent(*r) for r in rows]

"""Detected rapid moves (``domain.rapid_moves``) in ``rapid_moves``; an event is never rewritten."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa

from ghostcandle.domain.events import RapidMoveEvent
from ghostcandle.store.db import Database
from ghostcandle.store.id_filters import SMALL, series_rows

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
        conflict = "ON CONFLICT DO NOTHING"
        if len(events) <= SMALL:
            # a live candle's few events: the stored keys among them read by a filter (the
            # key's conflict check builds a hash table, see ``store.id_filters``)
            keys = [(e.symbol, e.timeframe, e.open_time) for e in events]
            cols = ("symbol", "timeframe", "kind", "open_time")
            stored = set(series_rows(con, "rapid_moves", cols, keys))
            new: dict[tuple[str, str, str, int], RapidMoveEvent] = {}
            for e in events:
                key = (e.symbol, e.timeframe, e.kind, e.open_time)
                if key not in stored:
                    new.setdefault(key, e)
            events, conflict = list(new.values()), ""
            if not events:
                return 0
        table = pa.Table.from_pydict({f: [getattr(e, f) for e in events] for f in _FIELDS})
        con.register("gc_rapid_staged", table)
        try:
            got = con.execute(
                f"INSERT INTO rapid_moves ({', '.join(_FIELDS)}) SELECT {', '.join(_FIELDS)} "
                f"FROM gc_rapid_staged {conflict}"
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

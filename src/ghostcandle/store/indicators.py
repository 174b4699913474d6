"""The indicator store: one row of ``INDICATOR_COLUMNS`` per candle, unique like the candles.

The table has no key (migration 11): a write deletes the stored rows at its open times, then
inserts, in one transaction under the database's write lock.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ghostcandle.domain.indicators import INDICATOR_COLUMNS
from ghostcandle.domain.timeframes import check_timeframe
from ghostcandle.store.db import Database

_COLS = ", ".join(INDICATOR_COLUMNS)
#: Batches up to this many rows find their stored rows by ``list_contains`` (a filter: no hash
#: table, so nothing left in DuckDB's eviction queues); larger ones (a backfill) by a join,
#: where ``list_contains`` would cost rows times batch.
_SMALL_BATCH = 64


class IndicatorStore:
    """Read and write indicator values in a ``Database``; NaN is stored as NULL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(
        self,
        symbol: str,
        timeframe: str,
        open_time: np.ndarray,
        values: np.ndarray,
    ) -> int:
        """Write (or overwrite) the rows of ``values`` (``(n, 13)``) in one transaction."""
        with self.db.transaction() as con:
            return self.write_in(con, symbol, timeframe, open_time, values)

    def write_in(
        self,
        con: duckdb.DuckDBPyConnection,
        symbol: str,
        timeframe: str,
        open_time: np.ndarray,
        values: np.ndarray,
    ) -> int:
        """Write rows inside an open transaction ``con``, replacing the stored ones at their times.

        Returns how many; ``open_time`` must hold each time once.
        """
        check_timeframe(timeframe)
        n = len(open_time)
        if n == 0:
            return 0
        arrays = [
            pa.array([symbol] * n, pa.string()),
            pa.array([timeframe] * n, pa.string()),
            pa.array(np.asarray(open_time, dtype=np.int64)),
        ]
        vals = np.asarray(values, dtype=np.float64).reshape(n, len(INDICATOR_COLUMNS))
        for j in range(vals.shape[1]):
            col = vals[:, j]
            arrays.append(pa.array(col, mask=np.isnan(col)))
        table = pa.Table.from_arrays(
            arrays, names=["symbol", "timeframe", "open_time", *INDICATOR_COLUMNS]
        )
        t = table.column("open_time")
        series = {"s": symbol, "tf": timeframe, "lo": pc.min(t).as_py(), "hi": pc.max(t).as_py()}
        if pc.count_distinct(t).as_py() != n:
            raise ValueError("an indicator batch holds one open time twice: give each once")
        # no registered view and no join for a live feed's few rows a candle: each join's hash
        # table leaves its buffers' nodes in DuckDB's eviction queues, ~0.5 KB a write held
        # until a queue passes ~32k nodes (see ``_SMALL_BATCH``); a relation from Arrow
        # registers nothing. The range lets DuckDB skip row groups by their zone maps.
        where = "symbol = $s AND timeframe = $tf AND open_time BETWEEN $lo AND $hi AND "
        if n <= _SMALL_BATCH:
            where += "list_contains($times, open_time)"
        else:
            where += "open_time IN (SELECT unnest($times))"
        con.execute(f"DELETE FROM indicators WHERE {where}", {**series, "times": t.to_pylist()})
        con.from_arrow(table).insert_into("indicators")
        return n

    def read(
        self,
        symbol: str,
        timeframe: str,
        start: int | None = None,
        end: int | None = None,
    ) -> pd.DataFrame:
        """Return ``open_time`` and the indicators for ``start <= open_time <= end`` (NaN: none)."""
        check_timeframe(timeframe)
        lo = -(2**62) if start is None else start
        hi = 2**62 if end is None else end
        with self.db.cursor() as cur:
            tbl = cur.execute(
                f"SELECT open_time, {_COLS} FROM indicators WHERE symbol = ? AND timeframe = ? "
                "AND open_time BETWEEN ? AND ? ORDER BY open_time",
                [symbol, timeframe, lo, hi],
            ).fetchnumpy()
        out = {"open_time": np.asarray(tbl["open_time"], dtype=np.int64)}
        for c in INDICATOR_COLUMNS:
            col = tbl[c]
            if isinstance(col, np.ma.MaskedArray):
                col = col.filled(np.nan)
            out[c] = np.asarray(col, dtype=np.float64)
        return pd.DataFrame(out)

"""Stored candle rows of many ranges (several series) read in one statement.

Judging a batch of training samples re-reads the stored rows of every window of its frames: a
range per series and cluster, eight for a batch of two symbols on four timeframes. A statement
costs about a millisecond however few rows it returns (DuckDB scans the row groups its zone maps
cannot skip, and a long window of a coarse timeframe spans the table's whole time axis), so the
ranges are read ``RANGES_PER_READ`` at a time as one ``UNION ALL``: the same rows, each range's
in ascending open time, for about half the time.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np

from ghostcandle.domain.candle_rows import SeriesRows
from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.timeframes import check_timeframe

#: (symbol, timeframe, first open time, last open time), both ends included
RowRange = tuple[str, str, int, int]

#: ranges per statement: enough for a batch of recent samples (a range per series), few enough
#: that one statement of a batch drawn from all over the history stays small to plan
RANGES_PER_READ = 16

_COLUMNS = "open_time, open, high, low, close, volume, complete, provenance"


def read_row_ranges(cur: duckdb.DuckDBPyConnection, ranges: Sequence[RowRange]) -> list[SeriesRows]:
    """Return the stored rows of each range (flags and provenance too), in the order given."""
    for r in ranges:
        check_timeframe(r[1])
    out: list[SeriesRows] = []
    for first in range(0, len(ranges), RANGES_PER_READ):
        part = ranges[first : first + RANGES_PER_READ]
        sql = " UNION ALL ".join(
            f"SELECT {k} AS k, {_COLUMNS} FROM candles WHERE symbol = ? AND timeframe = ? "
            "AND open_time BETWEEN ? AND ?"
            for k in range(len(part))
        )
        tbl = cur.execute(f"{sql} ORDER BY k, open_time", [v for r in part for v in r]).fetchnumpy()
        which = np.asarray(tbl["k"], dtype=np.int64)
        cuts = np.searchsorted(which, np.arange(len(part) + 1)).tolist()
        times = np.asarray(tbl["open_time"], dtype=np.int64)
        values = np.column_stack([np.asarray(tbl[c], dtype=np.float64) for c in VALUE_COLUMNS])
        complete = np.asarray(tbl["complete"], dtype=bool)
        provenance = np.asarray(tbl["provenance"], dtype=object)
        for k in range(len(part)):
            cut = slice(cuts[k], cuts[k + 1])
            rows = (times[cut], values[cut], complete[cut], provenance[cut])
            out.append(SeriesRows(*(a.copy() for a in rows)))
    return out

"""A long stretch of the prediction ledger as a DataFrame, read a range of decision times at once.

The ``predictions`` view joins every row with its outcome. Read over a whole session (a
200,000-candle replay makes ~1M predictions) in one query, DuckDB hash-joins every outcome and
sorts every row, and that needs more memory than a process's bound (``store.db``): at 128MB a
1M-prediction ledger ran out. Here each range of decision times, of about ``CHUNK_ROWS``
predictions (the ranges are approximate quantiles of the decision times), joins only the
outcomes of its range (an outcome is stored with its prediction's decision time) and is sorted
on its own; Arrow puts the ranges' rows in order (a column at a time, so the frame is held once
and one column of it twice). DuckDB's working memory is that of one range,
however long the ledger.
"""

from __future__ import annotations

import ctypes
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ghostcandle.store.db import Database

#: predictions joined and sorted by one query: its sorted rows are held in DuckDB's memory
#: (~300 bytes a row, all columns; 200,000 did not fit a 64MB bound, 50,000 do with room)
CHUNK_ROWS = 50_000
#: the order of the rows read: by target, then one row per model, symbol and timeframe
ORDER: tuple[str, ...] = ("target_time", "model", "symbol", "timeframe", "decision_time")
PENDING = "pending"
#: the sorted columns' allocator: the C heap's (``malloc``), whose large buffers go back to the
#: system when freed; Arrow's default (mimalloc) keeps freed memory for reuse
_POOL = pa.system_memory_pool()
try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc
    _LIBC = None
#: the pandas type of an Arrow column with nulls that numpy cannot hold, as DuckDB gives it
_MASKED: dict[pa.DataType, Any] = {
    pa.bool_(): pd.BooleanDtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int32Dtype(),
}


def decision_ranges(
    db: Database,
    where: str,
    params: dict[str, Any],
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[tuple[int, int]]:
    """Return half-open ranges ``[lo, hi)`` of decision times, ``CHUNK_ROWS`` rows or so each.

    Read through ``con`` when given (a snapshot's cursor), else a cursor of its own.
    """
    with db.cursor() if con is None else nullcontext(con) as cur:
        rows = cur.execute(
            f"SELECT count(*), min(decision_time), max(decision_time) FROM prediction_rows "
            f"WHERE {where}",
            params,
        ).fetchall()  # whole: a snapshot's cursor reads on after it
        row = rows[0] if rows else None
        n, first, last = row if row else (0, None, None)
        if not n or first is None or last is None:
            return [(0, 0)]
        cuts = [int(first), int(last) + 1]
        parts = math.ceil(int(n) / CHUNK_ROWS)
        if parts > 1:
            qs = [i / parts for i in range(1, parts)]
            got = cur.execute(
                "SELECT approx_quantile(decision_time, $qs::FLOAT[]) FROM prediction_rows "
                f"WHERE {where}",
                {**params, "qs": qs},
            ).fetchall()
            found = got[0] if got else None
            cuts += [int(t) for t in (found[0] if found else [])]
    bounds = sorted(set(cuts))
    return list(itertools.pairwise(bounds))


def read_frame(
    db: Database,
    exprs: Mapping[str, str],
    columns: Sequence[str],
    statuses: Iterable[str],
    session_id: str | None,
    timeframe: str | None = None,
) -> pd.DataFrame:
    """Return the ledger's ``columns`` of ``statuses`` (of one session, or all), in ``ORDER``.

    ``exprs`` gives each column's expression over ``r`` (``prediction_rows``) and ``o``
    (``prediction_outcomes``), as the ``predictions`` view selects it; ``timeframe`` keeps
    the predictions of that timeframe only.
    """
    wanted = list(statuses)
    extra = [k for k in ORDER if k not in columns]
    select = ", ".join(f"{exprs[c]} AS {c}" for c in [*columns, *extra])
    mine = picked = ""  # the outcomes' filter, the rows'
    whose: dict[str, Any] = {}
    if session_id:
        mine = picked = "session_id = $sid AND "
        whose["sid"] = session_id
    if timeframe is not None:  # only rows name their timeframe: outcomes follow the join
        picked += "timeframe = $tf AND "
        whose["tf"] = timeframe
    params: dict[str, Any] = {"st": wanted, **whose}
    in_range = "decision_time >= $lo AND decision_time < $hi"
    rows = f"SELECT * FROM prediction_rows WHERE {picked}{in_range}"
    outcomes = f"SELECT * FROM prediction_outcomes WHERE {mine}{in_range}"
    if PENDING in wanted:  # rows without an outcome are pending: every row, then the filter
        join, keep = "LEFT JOIN", f"WHERE {exprs['status']} IN (SELECT unnest($st))"
    else:  # only rows with an outcome of those statuses
        join, keep = "JOIN", ""
        outcomes += " AND status IN (SELECT unnest($st))"
    query = (
        f"SELECT {select} FROM ({rows}) r {join} ({outcomes}) o "
        "ON o.prediction_id = r.prediction_id AND o.decision_time = r.decision_time "
        f"{keep} ORDER BY {', '.join(ORDER)}"
    )
    parts: list[pa.Table] = []
    for lo, hi in decision_ranges(db, f"{picked}TRUE", whose):
        with db.cursor() as cur:
            # a relation's Arrow, not the DB-API result's (that one copies the rows once more)
            parts.append(_own(cur.sql(query, params={**params, "lo": lo, "hi": hi})))
        db.trim_cache()  # a range's blocks are not read again (``ledger_columns``' doc)
    df = _frame(_in_order(parts))
    return df.drop(columns=extra) if extra else df


def _frame(table: pa.Table) -> pd.DataFrame:
    """Return ``table`` as DuckDB's ``.df()`` makes it, letting go of each column converted.

    As DuckDB does, an integer or boolean column with a null is a masked (``Int64``,
    ``boolean``) column, without one a numpy column; Arrow alone makes them float and object.
    """
    masked = {
        name: column.to_pandas(types_mapper=_MASKED.get)
        for name, column in zip(table.column_names, table.columns, strict=True)
        if column.null_count and column.type in _MASKED
    }
    names = table.column_names
    table = table.drop_columns(list(masked))
    df: pd.DataFrame = table.to_pandas(split_blocks=True, self_destruct=True, memory_pool=_POOL)
    del table  # its buffers went to the frame column by column (self_destruct)
    for name, values in masked.items():
        df.insert(names.index(name), name, values)
    return df


def _own(result: duckdb.DuckDBPyRelation) -> pa.Table:
    """Return the rows of ``result`` in buffers of their own, a column each.

    DuckDB's Arrow buffers of a batch are freed together, when its last column is; copied,
    each column can be let go on its own (``_in_order``), and DuckDB's are freed at once.
    """
    table = result.to_arrow_table()
    if not table.num_rows:
        return table
    return pa.table(
        {
            name: pa.concat_arrays(column.chunks, memory_pool=_POOL)
            for name, column in zip(table.column_names, table.columns, strict=True)
        }
    )


def _in_order(parts: list[pa.Table]) -> pa.Table:
    """Return the ranges' rows (``parts``, emptied) stably sorted by ``ORDER``.

    Each range is in order, but a target can be predicted from two ranges. A column is taken
    in order, then its unsorted chunks are let go before the next one: the rows are in memory
    once, and one column of them twice (pandas' sort of the concatenated ranges held the rows
    three times: the ranges, their concatenation and the sorted copy).
    """
    ranges = sum(1 for p in parts if p.num_rows)
    table = pa.concat_tables(parts)  # the ranges' chunks, not a copy
    parts.clear()
    if ranges < 2:
        return table
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in ORDER])
    names = table.column_names
    columns = dict(zip(names, table.columns, strict=True))
    del table
    taken: dict[str, pa.ChunkedArray] = {}
    for name in names:
        taken[name] = pc.take(columns.pop(name), order, memory_pool=_POOL)
        _trim()  # the column's unsorted chunks lie between others: hand their pages back
    return pa.table(taken)


def _trim() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; else nothing).

    DuckDB's Arrow results are many small buffers of the C heap; freed, they are kept by it
    for reuse, and the sorted columns (large buffers) do not fit in them.
    """
    if _LIBC is not None:
        _LIBC.malloc_trim(0)

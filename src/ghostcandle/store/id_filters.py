"""How a write or read of a few rows finds them by id without a hash table.

A join, ``NOT EXISTS`` or ``IN (SELECT ...)`` builds a hash table, and each buffer it takes from
DuckDB's buffer manager leaves a node (~0.6 KB with its block handle) in one of DuckDB's eviction
queues, which is purged only past ~32k nodes: at a live session's few writes a tick, ``serve``
grew by them. A filter takes none, but not every filter: ``list_contains`` (or ``IN``) over a
list of five or more strings is planned with buffers of its own, ~11-34 nodes a query in DuckDB
2.0.0 (more with more strings), even when no row is in range (measured: 0 for up to four
strings or any integers). So a few ids are matched by ``column = $param[1] OR column =
$param[2] ...`` on the same list parameter: 0 nodes up to ``SMALL`` ids. It costs rows times
ids, so a live batch of up to ``CHUNKED`` ids (a trained batch's samples, a page of due
outcomes) is matched ``SMALL`` ids a query (``pieces``), and only larger ones (a backfill, a
replay) keep the hash table.

A read whose caller knows each id's decision time needs no id in its SQL at all: ``near`` reads
the rows in a few ranges of those times (a live batch's are a few seconds and the odd candle
close) and the caller keeps the ids it asked for. Half the time of ``among``'s 28 ids on a batch
of recent times, a quarter where a few far times make its span long (the chain is planned, then
evaluated on every row of the range), and no node.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import duckdb

#: the most ids one filter matches (a live tick's rows); more go through a hash table
SMALL = 64
#: the most ids matched by filters, ``SMALL`` a query (``pieces``); more take one hash table
CHUNKED = 8 * SMALL
#: decision times this close (ms) share one range of a ``near`` read
NEAR_GAP_MS = 10_000
#: the most ranges one ``near`` read ORs together; a batch whose times need more (drawn from
#: all over the history) is read by ids (``among``)
NEAR_RANGES = 8
#: fewer ids are matched as cheaply by ``among`` (a short chain is quick to plan), and a read
#: near their times would bring every other row of those instants (a frame: ~40 at a tick)
NEAR_MIN_IDS = 5

T = TypeVar("T")


def pieces(ids: Sequence[T]) -> list[Sequence[T]]:
    """Return ``ids`` as the lists to match one query each: ``SMALL`` at a time up to
    ``CHUNKED`` ids (each query a filter, no hash table), else all in one (``among`` then
    builds a hash table: fewer scans of the range for a large batch).

    >>> [len(p) for p in pieces(list(range(150)))]
    [64, 64, 22]
    >>> [len(p) for p in pieces(list(range(CHUNKED + 1)))]
    [513]
    """
    return [ids[part] for part in slices(len(ids))]


def slices(n: int) -> list[slice]:
    """Return the slices ``pieces`` cuts ``n`` ids into (those of a statement's list
    parameters too: each row's values are picked by its id's position in the piece).

    >>> slices(130)
    [slice(0, 64, None), slice(64, 128, None), slice(128, 192, None)]
    """
    if n <= SMALL or n > CHUNKED:
        return [slice(0, n)]
    return [slice(i, i + SMALL) for i in range(0, n, SMALL)]


def among(column: str, param: str, ids: Sequence[object]) -> str:
    """Return the SQL condition ``column`` is one of the list parameter ``$param`` (``ids``).

    >>> among("sample_id", "ids", ["a", "b"])
    '(sample_id = $ids[1] OR sample_id = $ids[2])'
    >>> among("sample_id", "ids", [])
    'FALSE'
    """
    if not ids:
        return "FALSE"
    if len(ids) <= SMALL:
        return "(" + " OR ".join(f"{column} = ${param}[{i}]" for i in range(1, len(ids) + 1)) + ")"
    return f"{column} IN (SELECT unnest(${param}))"


def near_ids(column: str, times: Sequence[int], ids: int) -> tuple[str, dict[str, int]] | None:
    """Return ``near(column, times)`` for a read of ``ids`` ids where it pays (between
    ``NEAR_MIN_IDS`` and ``CHUNKED`` of them), else None: match the ids instead."""
    return near(column, times) if NEAR_MIN_IDS <= ids <= CHUNKED else None


def near(column: str, times: Iterable[int]) -> tuple[str, dict[str, int]] | None:
    """Return the SQL condition that ``column`` lies in one of a few ranges covering ``times``
    (each within ``NEAR_GAP_MS`` of the next), and its parameters; None if more than
    ``NEAR_RANGES`` ranges are needed or no time is given.

    The rows read are a superset (every row in the ranges): the caller keeps its ids.

    >>> where, params = near("t", [5_000, 1_000, 70_000, 3_000])
    >>> where.split(" AND (")[1]
    't BETWEEN $near_0_lo AND $near_0_hi OR t BETWEEN $near_1_lo AND $near_1_hi)'
    >>> sorted(params.items())[:4]
    [('near_0_hi', 5000), ('near_0_lo', 1000), ('near_1_hi', 70000), ('near_1_lo', 70000)]
    >>> near("t", range(0, 9 * 20_000, 20_000)) is None  # nine ranges
    True
    """
    ranges: list[list[int]] = []
    for t in sorted(set(times)):
        if ranges and t - ranges[-1][1] <= NEAR_GAP_MS:
            ranges[-1][1] = t
        else:
            if len(ranges) == NEAR_RANGES:
                return None
            ranges.append([t, t])
    if not ranges:
        return None
    params = {"near_lo": ranges[0][0], "near_hi": ranges[-1][1]}
    parts = []
    for i, (lo, hi) in enumerate(ranges):
        parts.append(f"{column} BETWEEN $near_{i}_lo AND $near_{i}_hi")
        params |= {f"near_{i}_lo": lo, f"near_{i}_hi": hi}
    # the outer range lets the zone maps skip the rest of the table
    return f"{column} BETWEEN $near_lo AND $near_hi AND ({' OR '.join(parts)})", params


def series_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Iterable[str],
    keys: Sequence[tuple[str, str, int]],
) -> list[tuple[Any, ...]]:
    """Return ``columns`` of ``table``'s rows that may be one of a few ``(symbol, timeframe,
    open_time)`` keys, by filters (no hash table).

    The rows are those whose time, symbol and timeframe are each among the keys' (a superset
    when the keys span several series): the caller matches each row to its exact key.
    """
    times = [k[2] for k in keys]
    return con.execute(
        f"SELECT {', '.join(columns)} FROM {table} WHERE open_time BETWEEN $lo AND $hi "
        "AND list_contains($times, open_time) AND list_contains($syms, symbol) "
        "AND list_contains($tfs, timeframe)",
        {
            "lo": min(times),
            "hi": max(times),
            "times": times,
            "syms": sorted({k[0] for k in keys}),
            "tfs": sorted({k[1] for k in keys}),
        },
    ).fetchall()

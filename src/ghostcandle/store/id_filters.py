"""How a write or read of a few rows finds them by id without a hash table.

A join, ``NOT EXISTS`` or ``IN (SELECT ...)`` builds a hash table, and each buffer it takes from
DuckDB's buffer manager leaves a node (~0.6 KB with its block handle) in one of DuckDB's eviction
queues, which is purged only past ~32k nodes: at a live session's few writes a tick, ``serve``
grew by them. ``list_contains`` over a list parameter is a filter and takes none; it costs rows
times ids, so batches above ``SMALL`` ids (a backfill, a replay) keep the hash table.
"""

from __future__ import annotations

from collections.abc import Sequence

#: the most ids matched by ``list_contains`` (a live tick's rows); more go through a hash table
SMALL = 64


def among(column: str, param: str, ids: Sequence[object]) -> str:
    """Return the SQL condition ``column`` is one of the list parameter ``$param`` (``ids``)."""
    if len(ids) <= SMALL:
        return f"list_contains(${param}, {column})"
    return f"{column} IN (SELECT unnest(${param}))"

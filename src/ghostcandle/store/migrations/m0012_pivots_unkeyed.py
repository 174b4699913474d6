"""Confirmed pivots without a primary key: ``PivotStore`` keeps each pivot stored once.

Pivots grow with the candles (five levels per series): DuckDB kept the key as an ART index in
memory, never evicted, which a bounded ``memory_limit`` cannot hold for long. Every write goes
through ``PivotStore.write_in`` inside ``Database.transaction()`` under the process's write lock
(DuckDB's file lock keeps other processes out): a pivot is inserted only where none of its
symbol, timeframe, type and time is stored, looked up in the batch's pivot-time range. Rebuilt
with the same columns and types, rows in pivot-time order so the zone maps of ``pivot_time``
prune that look-up.
"""

VERSION = 12
NAME = "pivots_unkeyed"
STATEMENTS = (
    """
    CREATE TABLE pivot_points_unkeyed (
        symbol       VARCHAR NOT NULL,
        timeframe    VARCHAR NOT NULL,
        pivot_time   BIGINT  NOT NULL,
        price        DOUBLE  NOT NULL,
        pivot_type   VARCHAR NOT NULL,
        level        INTEGER NOT NULL,
        strength     DOUBLE  NOT NULL,
        confirmed_at BIGINT  NOT NULL
    )
    """,
    "INSERT INTO pivot_points_unkeyed SELECT * FROM pivot_points "
    "ORDER BY pivot_time, symbol, timeframe, pivot_type",
    "DROP TABLE pivot_points",
    "ALTER TABLE pivot_points_unkeyed RENAME TO pivot_points",
)

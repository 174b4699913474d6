"""Depth snapshots without a primary key: ``DepthStore`` keeps (symbol, time) unique.

One row a second per symbol while depth is captured: DuckDB kept the key as an ART index in
memory, never evicted (~80-100 bytes a row), which a bounded ``memory_limit`` cannot hold for
long. ``DepthStore.write_in`` stores a snapshot only where none of its symbol and time is
stored, looked up in the batch's time range inside the writer's transaction (the process's
write lock; DuckDB's file lock keeps other processes out). Rebuilt with the same columns and
types (those of migration 32 included), rows in time order so the zone maps of ``time`` prune.
"""

VERSION = 33
NAME = "depth_unkeyed"
STATEMENTS = (
    """
    CREATE TABLE depth_snapshots_unkeyed (
        symbol          VARCHAR  NOT NULL,
        time            BIGINT   NOT NULL,
        last_update_id  BIGINT   NOT NULL,
        bid_price       DOUBLE[] NOT NULL,
        bid_qty         DOUBLE[] NOT NULL,
        ask_price       DOUBLE[] NOT NULL,
        ask_qty         DOUBLE[] NOT NULL,
        source          VARCHAR,
        best_bid        DOUBLE,
        best_ask        DOUBLE,
        bid_total       DOUBLE,
        ask_total       DOUBLE,
        total_levels    INTEGER,
        known_levels    INTEGER,
        buy_volume      DOUBLE,
        sell_volume     DOUBLE,
        trades          INTEGER
    )
    """,
    "INSERT INTO depth_snapshots_unkeyed SELECT * FROM depth_snapshots ORDER BY time, symbol",
    "DROP TABLE depth_snapshots",
    "ALTER TABLE depth_snapshots_unkeyed RENAME TO depth_snapshots",
)

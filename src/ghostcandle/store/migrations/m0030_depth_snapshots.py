"""Compact order-book snapshots: the top levels of one symbol's book, about one per second."""

VERSION = 30
NAME = "depth_snapshots"
STATEMENTS = (
    """
    CREATE TABLE depth_snapshots (
        symbol          VARCHAR  NOT NULL,
        time            BIGINT   NOT NULL,
        last_update_id  BIGINT   NOT NULL,
        bid_price       DOUBLE[] NOT NULL,
        bid_qty         DOUBLE[] NOT NULL,
        ask_price       DOUBLE[] NOT NULL,
        ask_qty         DOUBLE[] NOT NULL,
        source          VARCHAR,
        PRIMARY KEY (symbol, time)
    )
    """,
)

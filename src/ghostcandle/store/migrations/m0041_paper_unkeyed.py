"""Paper trades and equity points without a primary key: ``PaperStore.save`` keeps them unique.

A live session's paper account adds an equity point a candle and a trade a fill, for weeks:
DuckDB kept each key as an ART index in memory, never evicted, which a bounded
``memory_limit`` cannot hold for long. Both tables have one writer, ``PaperStore.save``, inside
``Database.transaction()`` under the process's write lock (DuckDB's file lock keeps other
processes out): an equity point replaces the one of its session and time (what ``INSERT OR
REPLACE`` did), a trade whose sequence number is stored already is refused (what the key did).
Rebuilt with the same columns, types and NOT NULLs, rows in time and sequence order. The
accounts, positions and orders keep their keys (a few rows a session).
"""

VERSION = 41
NAME = "paper_unkeyed"
STATEMENTS = (
    """
    CREATE TABLE paper_trades_unkeyed (
        session_id   VARCHAR NOT NULL,
        seq          BIGINT  NOT NULL,
        symbol       VARCHAR NOT NULL,
        side         VARCHAR NOT NULL,
        size         DOUBLE  NOT NULL,
        entry_time   BIGINT  NOT NULL,
        entry_price  DOUBLE  NOT NULL,
        exit_time    BIGINT  NOT NULL,
        exit_price   DOUBLE  NOT NULL,
        entry_fee    DOUBLE  NOT NULL,
        exit_fee     DOUBLE  NOT NULL,
        pnl          DOUBLE  NOT NULL,
        exit_reason  VARCHAR NOT NULL
    )
    """,
    "INSERT INTO paper_trades_unkeyed SELECT * FROM paper_trades ORDER BY session_id, seq",
    "DROP TABLE paper_trades",
    "ALTER TABLE paper_trades_unkeyed RENAME TO paper_trades",
    """
    CREATE TABLE paper_equity_unkeyed (
        session_id  VARCHAR NOT NULL,
        time        BIGINT  NOT NULL,
        equity      DOUBLE  NOT NULL,
        exposed     BOOLEAN NOT NULL
    )
    """,
    "INSERT INTO paper_equity_unkeyed SELECT * FROM paper_equity ORDER BY time, session_id",
    "DROP TABLE paper_equity",
    "ALTER TABLE paper_equity_unkeyed RENAME TO paper_equity",
)

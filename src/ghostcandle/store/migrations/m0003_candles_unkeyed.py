"""Candles without a primary key: the write path keeps (symbol, timeframe, open_time) unique.

DuckDB keeps a key as an ART index in memory that is never evicted (~76 bytes a candle) and
that made every insert ~3x dearer. ``CandleStore`` classifies each incoming candle against the
stored ones in its range inside one transaction, under the process's write lock (and DuckDB's
file lock keeps other processes out), so the key only duplicated that check. The table is
rebuilt (DuckDB cannot drop a key) with the same columns and types, its rows in series and time
order, which keeps the zone maps of ``open_time`` tight for the range reads and writes.
"""

VERSION = 3
NAME = "candles_unkeyed"
STATEMENTS = (
    """
    CREATE TABLE candles_unkeyed (
        symbol      VARCHAR NOT NULL,
        timeframe   VARCHAR NOT NULL,
        open_time   BIGINT  NOT NULL,
        open        DOUBLE  NOT NULL,
        high        DOUBLE  NOT NULL,
        low         DOUBLE  NOT NULL,
        close       DOUBLE  NOT NULL,
        volume      DOUBLE  NOT NULL,
        n_parts     INTEGER,
        complete    BOOLEAN NOT NULL DEFAULT TRUE,
        source      VARCHAR,
        provenance  VARCHAR NOT NULL
    )
    """,
    "INSERT INTO candles_unkeyed SELECT * FROM candles ORDER BY symbol, timeframe, open_time",
    "DROP TABLE candles",
    "ALTER TABLE candles_unkeyed RENAME TO candles",
)

"""Candles keyed by (symbol, timeframe, open_time), and refused conflicting rewrites."""

VERSION = 1
NAME = "candles"
STATEMENTS = (
    """
    CREATE TABLE candles (
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
        PRIMARY KEY (symbol, timeframe, open_time)
    )
    """,
    """
    CREATE TABLE candle_conflicts (
        symbol       VARCHAR NOT NULL,
        timeframe    VARCHAR NOT NULL,
        open_time    BIGINT  NOT NULL,
        open         DOUBLE,
        high         DOUBLE,
        low          DOUBLE,
        close        DOUBLE,
        volume       DOUBLE,
        source       VARCHAR,
        refused_at   BIGINT  NOT NULL
    )
    """,
)

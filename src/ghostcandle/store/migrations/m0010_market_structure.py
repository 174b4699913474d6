"""Indicators per candle, and confirmed multi-level pivots (the seeds' schema + confirmed_at)."""

VERSION = 10
NAME = "market_structure"
STATEMENTS = (
    """
    CREATE TABLE indicators (
        symbol      VARCHAR NOT NULL,
        timeframe   VARCHAR NOT NULL,
        open_time   BIGINT  NOT NULL,
        sma_10      DOUBLE,
        sma_20      DOUBLE,
        sma_50      DOUBLE,
        ema_12      DOUBLE,
        ema_26      DOUBLE,
        rsi_14      DOUBLE,
        atr_14      DOUBLE,
        macd        DOUBLE,
        macd_signal DOUBLE,
        macd_hist   DOUBLE,
        bb_mid      DOUBLE,
        bb_upper    DOUBLE,
        bb_lower    DOUBLE,
        PRIMARY KEY (symbol, timeframe, open_time)
    )
    """,
    """
    CREATE TABLE pivot_points (
        symbol       VARCHAR NOT NULL,
        timeframe    VARCHAR NOT NULL,
        pivot_time   BIGINT  NOT NULL,
        price        DOUBLE  NOT NULL,
        pivot_type   VARCHAR NOT NULL,
        level        INTEGER NOT NULL,
        strength     DOUBLE  NOT NULL,
        confirmed_at BIGINT  NOT NULL,
        PRIMARY KEY (symbol, timeframe, pivot_type, pivot_time)
    )
    """,
)

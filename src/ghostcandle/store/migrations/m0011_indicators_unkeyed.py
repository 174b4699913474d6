"""Indicators without a primary key: ``IndicatorStore`` replaces a series' rows by open time.

As for the candles (migration 3): the key was an in-memory ART index never evicted, and every
write goes through the store's delete-then-insert in one transaction under the process's write
lock. Rebuilt with the same columns and types, rows in series and time order.
"""

VERSION = 11
NAME = "indicators_unkeyed"
STATEMENTS = (
    """
    CREATE TABLE indicators_unkeyed (
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
        bb_lower    DOUBLE
    )
    """,
    "INSERT INTO indicators_unkeyed SELECT * FROM indicators ORDER BY symbol, timeframe, open_time",
    "DROP TABLE indicators",
    "ALTER TABLE indicators_unkeyed RENAME TO indicators",
)

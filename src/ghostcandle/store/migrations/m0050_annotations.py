"""Annotations: trades a trader marked on the chart, with the frame reference of the entry."""

VERSION = 50
NAME = "annotations"
STATEMENTS = (
    """
    CREATE TABLE annotations (
        annotation_id VARCHAR PRIMARY KEY,
        symbol        VARCHAR NOT NULL,
        timeframe     VARCHAR NOT NULL,
        entry_time    BIGINT  NOT NULL,
        exit_time     BIGINT  NOT NULL,
        entry_price   DOUBLE  NOT NULL,
        exit_price    DOUBLE  NOT NULL,
        direction     VARCHAR NOT NULL,
        notes         VARCHAR NOT NULL DEFAULT '',
        frame         VARCHAR NOT NULL,
        created_at    BIGINT  NOT NULL,
        updated_at    BIGINT  NOT NULL
    )
    """,
)

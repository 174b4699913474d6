"""The health of each live feed, rewritten while it runs (one row per feed)."""

VERSION = 31
NAME = "feed_status"
STATEMENTS = (
    """
    CREATE TABLE feed_status (
        feed                VARCHAR PRIMARY KEY,
        exchange            VARCHAR NOT NULL,
        connected           BOOLEAN NOT NULL,
        last_message_at     BIGINT,
        reconnects          INTEGER NOT NULL,
        gaps_backfilled     INTEGER NOT NULL,
        candles_backfilled  INTEGER NOT NULL,
        messages_rejected   INTEGER NOT NULL,
        candles_stored      INTEGER NOT NULL,
        detail              VARCHAR NOT NULL,
        updated_at          BIGINT  NOT NULL
    )
    """,
)

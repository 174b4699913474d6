"""Offline training runs: what was fitted (or walked forward) on which range, and how it went."""

VERSION = 60
NAME = "offline_runs"
STATEMENTS = (
    """
    CREATE TABLE offline_runs (
        run_id        VARCHAR NOT NULL PRIMARY KEY,
        kind          VARCHAR NOT NULL,
        name          VARCHAR,
        model         VARCHAR NOT NULL,
        model_config  VARCHAR NOT NULL,
        symbol        VARCHAR NOT NULL,
        timeframes    VARCHAR NOT NULL,
        range_start   BIGINT  NOT NULL,
        range_end     BIGINT  NOT NULL,
        settings      VARCHAR NOT NULL,
        epochs_run    INTEGER NOT NULL,
        best_epoch    INTEGER,
        train_losses  VARCHAR NOT NULL,
        val_losses    VARCHAR NOT NULL,
        checkpoint    VARCHAR,
        created_at    BIGINT  NOT NULL,
        duration_s    DOUBLE  NOT NULL,
        summary       VARCHAR NOT NULL
    )
    """,
)

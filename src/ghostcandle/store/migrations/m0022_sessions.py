"""Loop sessions: configuration, progress and last checkpoint, so a restart can resume."""

VERSION = 22
NAME = "sessions"
STATEMENTS = (
    """
    CREATE TABLE loop_sessions (
        session_id       VARCHAR NOT NULL PRIMARY KEY,
        kind             VARCHAR NOT NULL,
        config           VARCHAR NOT NULL,
        status           VARCHAR NOT NULL,
        created_at       BIGINT  NOT NULL,
        updated_at       BIGINT  NOT NULL,
        progress_time    BIGINT,
        events           BIGINT  NOT NULL DEFAULT 0,
        train_steps      BIGINT  NOT NULL DEFAULT 0,
        checkpoint_path  VARCHAR,
        checkpoint_step  BIGINT,
        summary          VARCHAR
    )
    """,
    """
    CREATE TABLE training_steps (
        session_id   VARCHAR NOT NULL,
        model        VARCHAR NOT NULL,
        step         BIGINT  NOT NULL,
        at_time      BIGINT  NOT NULL,
        reason       VARCHAR NOT NULL,
        frame_ids    VARCHAR NOT NULL,
        loss         DOUBLE,
        status       VARCHAR NOT NULL
    )
    """,
)

"""Outcomes of training samples (pending -> validated | expired) and detected rapid moves."""

VERSION = 71
NAME = "outcomes"
STATEMENTS = (
    """
    CREATE TABLE outcomes (
        sample_id      VARCHAR NOT NULL PRIMARY KEY,
        frame_id       VARCHAR,
        symbol         VARCHAR NOT NULL,
        timeframe      VARCHAR NOT NULL,
        decision_time  BIGINT  NOT NULL,
        horizon        INTEGER NOT NULL,
        known_at       BIGINT  NOT NULL,
        expires_at     BIGINT  NOT NULL,
        action_taken   VARCHAR,
        cost           DOUBLE  NOT NULL,
        status         VARCHAR NOT NULL,
        created_at     BIGINT  NOT NULL,
        ref_close      DOUBLE,
        forward_return DOUBLE,
        mfe            DOUBLE,
        mae            DOUBLE,
        best_action    VARCHAR,
        best_profit    DOUBLE,
        taken_profit   DOUBLE,
        unit           DOUBLE,
        profitability  DOUBLE,
        is_profitable  BOOLEAN,
        rapid_move     BOOLEAN,
        validated_at   BIGINT,
        validator_id   VARCHAR
    )
    """,
    """
    CREATE TABLE rapid_moves (
        symbol      VARCHAR NOT NULL,
        timeframe   VARCHAR NOT NULL,
        kind        VARCHAR NOT NULL,
        open_time   BIGINT  NOT NULL,
        detected_at BIGINT  NOT NULL,
        value       DOUBLE  NOT NULL,
        threshold   DOUBLE  NOT NULL,
        direction   INTEGER NOT NULL,
        PRIMARY KEY (symbol, timeframe, kind, open_time)
    )
    """,
)

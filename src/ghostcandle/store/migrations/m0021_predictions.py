"""The prediction ledger: pending -> resolved | expired, with errors and reward."""

VERSION = 21
NAME = "predictions"
STATEMENTS = (
    """
    CREATE TABLE predictions (
        prediction_id    VARCHAR NOT NULL PRIMARY KEY,
        session_id       VARCHAR NOT NULL,
        model            VARCHAR NOT NULL,
        model_version    VARCHAR NOT NULL,
        symbol           VARCHAR NOT NULL,
        timeframe        VARCHAR NOT NULL,
        frame_id         VARCHAR NOT NULL,
        decision_time    BIGINT  NOT NULL,
        target_open_time BIGINT  NOT NULL,
        target_time      BIGINT  NOT NULL,
        expires_at       BIGINT  NOT NULL,
        ref_close        DOUBLE  NOT NULL,
        pred_open        DOUBLE  NOT NULL,
        pred_high        DOUBLE  NOT NULL,
        pred_low         DOUBLE  NOT NULL,
        pred_close       DOUBLE  NOT NULL,
        pred_volume      DOUBLE  NOT NULL,
        action           VARCHAR NOT NULL,
        p_hold           DOUBLE  NOT NULL,
        p_buy            DOUBLE  NOT NULL,
        p_sell           DOUBLE  NOT NULL,
        confidence       DOUBLE  NOT NULL,
        status           VARCHAR NOT NULL,
        actual_open      DOUBLE,
        actual_high      DOUBLE,
        actual_low       DOUBLE,
        actual_close     DOUBLE,
        actual_volume    DOUBLE,
        price_error      DOUBLE,
        volume_error     DOUBLE,
        action_correct   BOOLEAN,
        reward           DOUBLE,
        resolved_at      BIGINT,
        created_at       BIGINT  NOT NULL
    )
    """,
)

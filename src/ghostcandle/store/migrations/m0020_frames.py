"""Frame references: what each prediction's model saw, by reference (no candle data)."""

VERSION = 20
NAME = "frames"
STATEMENTS = (
    # windows: "tf:end_open_time:length" joined by "|"; norm_params: compact JSON.
    """
    CREATE TABLE frames (
        frame_id       VARCHAR NOT NULL PRIMARY KEY,
        model          VARCHAR NOT NULL,
        model_version  VARCHAR NOT NULL,
        symbol         VARCHAR NOT NULL,
        timeframe      VARCHAR NOT NULL,
        decision_time  BIGINT  NOT NULL,
        target_time    BIGINT,
        windows        VARCHAR NOT NULL,
        norm_params    VARCHAR NOT NULL,
        input_hash     VARCHAR NOT NULL
    )
    """,
)

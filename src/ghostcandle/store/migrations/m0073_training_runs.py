"""Training runs: one row per annotation batch, offline fit or session, with curves and value."""

VERSION = 73
NAME = "training_runs"
STATEMENTS = (
    """
    CREATE TABLE training_runs (
        run_id        VARCHAR NOT NULL PRIMARY KEY,
        kind          VARCHAR NOT NULL,
        model         VARCHAR NOT NULL,
        model_config  VARCHAR NOT NULL,
        source        VARCHAR NOT NULL,
        checkpoint_key VARCHAR,
        status        VARCHAR NOT NULL,
        started_at    BIGINT  NOT NULL,
        ended_at      BIGINT,
        start_step    BIGINT  NOT NULL,
        start_hash    VARCHAR NOT NULL,
        steps         BIGINT  NOT NULL,
        train_curve   VARCHAR NOT NULL,
        val_curve     VARCHAR NOT NULL,
        convergence   VARCHAR NOT NULL,
        value_per_1k  DOUBLE,
        summary       VARCHAR NOT NULL
    )
    """,
)

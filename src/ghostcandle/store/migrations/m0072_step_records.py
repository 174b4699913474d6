"""Replayable training steps: one row per applied step, with what it needs to be recomputed."""

VERSION = 72
NAME = "step_records"
STATEMENTS = (
    """
    CREATE TABLE training_step_records (
        step_id        VARCHAR NOT NULL PRIMARY KEY,
        run_id         VARCHAR NOT NULL,
        step           BIGINT  NOT NULL,
        at_time        BIGINT  NOT NULL,
        source         VARCHAR NOT NULL,
        id_kind        VARCHAR NOT NULL,
        sample_ids     VARCHAR[] NOT NULL,
        batch_refs     VARCHAR NOT NULL,
        losses         VARCHAR NOT NULL,
        grad_norms     VARCHAR NOT NULL,
        learning_rate  DOUBLE,
        seed           BIGINT,
        torch_threads  INTEGER NOT NULL,
        deterministic  BOOLEAN NOT NULL,
        hash_before    VARCHAR NOT NULL,
        hash_after     VARCHAR NOT NULL,
        duration_ms    DOUBLE  NOT NULL
    )
    """,
    "CREATE INDEX training_step_records_run ON training_step_records (run_id, step)",
)

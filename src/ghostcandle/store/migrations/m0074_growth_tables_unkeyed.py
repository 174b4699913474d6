"""Training samples, outcomes and step records without a key or index (each grows with time).

DuckDB keeps every primary key and index as an ART index in memory that is never evicted
(~80-100 bytes a row): with a bounded ``memory_limit`` a long serve or replay would end refusing
its inserts. Each table has one writer, inside ``Database.transaction()`` under the process's
write lock (DuckDB's file lock keeps other processes out), which keeps its rows unique:

- ``training_samples`` (``store.samples``): a sample id already stored is looked up in the
  batch's decision-time range (a sample's id hashes its frame's, which hashes the time);
- ``outcomes`` (``store.outcomes``): likewise, by ``sample_id`` in the decision-time range;
- ``training_step_records`` (``store.step_records``): a step recorded again replaces the row of
  its run and step (``step_id`` is ``<run_id>:<step>``); its ``(run_id, step)`` index goes too.

Rebuilt with the same columns, types, NOT NULLs and defaults, rows in time order so the zone
maps of the time columns prune the writers' range look-ups. ``rapid_moves`` keeps its key (a
few rows a day).
"""

VERSION = 74
NAME = "growth_tables_unkeyed"
STATEMENTS = (
    """
    CREATE TABLE training_samples_unkeyed (
        sample_id        VARCHAR NOT NULL,
        frame_id         VARCHAR NOT NULL,
        source           VARCHAR NOT NULL,
        origin           VARCHAR NOT NULL,
        symbol           VARCHAR NOT NULL,
        timeframe        VARCHAR NOT NULL,
        decision_time    BIGINT  NOT NULL,
        label            INTEGER NOT NULL,
        labels           VARCHAR NOT NULL,
        priority         DOUBLE  NOT NULL DEFAULT 1.0,
        status           VARCHAR NOT NULL,
        reason           VARCHAR NOT NULL,
        completeness     DOUBLE  NOT NULL,
        completeness_tf  VARCHAR NOT NULL,
        flags            INTEGER NOT NULL,
        provenance       VARCHAR NOT NULL,
        created_at       BIGINT  NOT NULL,
        status_at        BIGINT  NOT NULL
    )
    """,
    "INSERT INTO training_samples_unkeyed SELECT * FROM training_samples "
    "ORDER BY decision_time, sample_id",
    "DROP TABLE training_samples",
    "ALTER TABLE training_samples_unkeyed RENAME TO training_samples",
    """
    CREATE TABLE outcomes_unkeyed (
        sample_id      VARCHAR NOT NULL,
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
    "INSERT INTO outcomes_unkeyed SELECT * FROM outcomes ORDER BY decision_time, sample_id",
    "DROP TABLE outcomes",
    "ALTER TABLE outcomes_unkeyed RENAME TO outcomes",
    """
    CREATE TABLE training_step_records_unkeyed (
        step_id        VARCHAR NOT NULL,
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
    "INSERT INTO training_step_records_unkeyed SELECT * FROM training_step_records "
    "ORDER BY at_time, run_id, step",
    "DROP INDEX training_step_records_run",
    "DROP TABLE training_step_records",
    "ALTER TABLE training_step_records_unkeyed RENAME TO training_step_records",
)

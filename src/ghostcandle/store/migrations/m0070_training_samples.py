"""Training samples: every example a trainer may see, by reference to its frame (DESIGN.md §8).

A row holds no candle: its frame is a row of ``frames`` (windows by reference and the input
hash), re-verified at every read. ``completeness_tf``, ``labels`` and ``provenance`` are compact
JSON; ``flags`` is the ``SampleFlag`` bit set (0: nothing wrong).
"""

VERSION = 70
NAME = "training_samples"
STATEMENTS = (
    """
    CREATE TABLE training_samples (
        sample_id        VARCHAR NOT NULL PRIMARY KEY,
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
)

"""The ledger and frames append-only, without primary keys.

DuckDB keeps a primary key as an ART index in memory that cannot be evicted: one entry per
prediction and per frame made the process grow with every event (~1 KB an event) and every
resolution was a point ``UPDATE`` through that index. Now:

- ``prediction_rows``: what was decided (written once, at the prediction);
- ``prediction_outcomes``: what happened (written once, when it resolved or expired), with the
  session and decision time repeated (counts by session; a read of a few predictions joins
  only the outcomes of their time range);
- ``predictions``: a view joining the two, with the columns and order of the old table;
- ``frames``: the same columns, no key.

Uniqueness is kept by the one writer (``store.predictions``, ``store.frames``): a prediction's
row and its outcome are each inserted once; a frame already stored is not inserted again.
"""

VERSION = 24
NAME = "append_only_ledger"

_DECISION = (
    "prediction_id, session_id, model, model_version, symbol, timeframe, frame_id, "
    "decision_time, target_open_time, target_time, expires_at, ref_close, pred_open, pred_high, "
    "pred_low, pred_close, pred_volume, action, p_hold, p_buy, p_sell, confidence, created_at"
)
_OUTCOME = (
    "status, actual_open, actual_high, actual_low, actual_close, actual_volume, price_error, "
    "volume_error, action_correct, reward, resolved_at"
)

STATEMENTS = (
    """
    CREATE TABLE prediction_rows (
        prediction_id    VARCHAR NOT NULL,
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
        created_at       BIGINT  NOT NULL
    )
    """,
    """
    CREATE TABLE prediction_outcomes (
        prediction_id  VARCHAR NOT NULL,
        session_id     VARCHAR NOT NULL,
        decision_time  BIGINT  NOT NULL,
        status         VARCHAR NOT NULL,
        actual_open    DOUBLE,
        actual_high    DOUBLE,
        actual_low     DOUBLE,
        actual_close   DOUBLE,
        actual_volume  DOUBLE,
        price_error    DOUBLE,
        volume_error   DOUBLE,
        action_correct BOOLEAN,
        reward         DOUBLE,
        resolved_at    BIGINT
    )
    """,
    f"INSERT INTO prediction_rows ({_DECISION}) "
    f"SELECT {_DECISION} FROM predictions ORDER BY decision_time, prediction_id",
    f"INSERT INTO prediction_outcomes (prediction_id, session_id, decision_time, {_OUTCOME}) "
    f"SELECT prediction_id, session_id, decision_time, {_OUTCOME} FROM predictions "
    "WHERE status <> 'pending' ORDER BY decision_time, prediction_id",
    "DROP TABLE predictions",
    """
    CREATE VIEW predictions AS
    SELECT r.prediction_id, r.session_id, r.model, r.model_version, r.symbol, r.timeframe,
           r.frame_id, r.decision_time, r.target_open_time, r.target_time, r.expires_at,
           r.ref_close, r.pred_open, r.pred_high, r.pred_low, r.pred_close, r.pred_volume,
           r.action, r.p_hold, r.p_buy, r.p_sell, r.confidence,
           coalesce(o.status, 'pending') AS status, o.actual_open, o.actual_high, o.actual_low,
           o.actual_close, o.actual_volume, o.price_error, o.volume_error, o.action_correct,
           o.reward, o.resolved_at, r.created_at
    FROM prediction_rows r LEFT JOIN prediction_outcomes o
      ON o.prediction_id = r.prediction_id AND o.decision_time = r.decision_time
    """,
    """
    CREATE TABLE frames_unkeyed (
        frame_id       VARCHAR NOT NULL,
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
    "INSERT INTO frames_unkeyed SELECT * FROM frames ORDER BY decision_time, frame_id",
    "DROP TABLE frames",
    "ALTER TABLE frames_unkeyed RENAME TO frames",
)

"""Rows appended by position (an Arrow relation's ``insert_into``) land in their own columns.

The ledger, the step records, the training samples and the pending outcomes append a batch's
Arrow table as it is: its columns must be the table's, in the table's order. Each is checked
against the migrated schema, and the step records and a pending outcome read back field for
field with a distinct value in every field.
"""

from __future__ import annotations

from ghostcandle.store.db import Database
from ghostcandle.store.outcomes import PENDING_FIELDS, UNKNOWN_YET, OutcomeStore, PendingOutcome
from ghostcandle.store.predictions import _OUTCOME_ROW, DECISION
from ghostcandle.store.sample_rows import COLUMNS as SAMPLE_COLUMNS
from ghostcandle.store.step_records import StepRecord, StepRecordStore


def _columns(db: Database, table: str) -> list[str]:
    with db.cursor() as cur:
        return [str(r[0]) for r in cur.execute(f"DESCRIBE {table}").fetchall()]


def test_each_appended_batch_has_its_tables_columns_in_order(db: Database) -> None:
    assert _columns(db, "prediction_rows") == list(DECISION)
    assert _columns(db, "prediction_outcomes") == list(_OUTCOME_ROW)
    assert _columns(db, "training_samples") == list(SAMPLE_COLUMNS)
    assert _columns(db, "outcomes") == [*PENDING_FIELDS, *UNKNOWN_YET]


def test_a_step_record_reads_back_field_for_field(db: Database) -> None:
    store = StepRecordStore(db)
    records = [
        StepRecord(
            run_id="run-a", step=7 + k, at=1_700_000_000_000 + k, source=f"source-{k}",
            id_kind=f"kind-{k}", sample_ids=(f"s{k}", "t"), batch_refs={"ref": k},
            losses={"loss": 0.5 + k}, grad_norms={"net": 1.5 + k}, learning_rate=1e-3 * (k + 1),
            seed=11 + k, torch_threads=1 + k, deterministic=bool(k), hash_before=f"before-{k}",
            hash_after=f"after-{k}", duration_ms=2.25 + k,
        )
        for k in range(2)
    ]  # fmt: skip
    with db.transaction() as con:
        store.insert_in(con, records)
    for r in records:
        assert store.get(r.step_id) == r


def test_a_pending_outcome_reads_back_field_for_field(db: Database) -> None:
    rows = [
        PendingOutcome(
            f"sample-{k}", f"frame-{k}", f"SYM{k}/USDT", "1m", 1_700_000_000_000 + k, 5 + k,
            1_700_000_300_000 + k, 1_700_003_600_000 + k, "SELL" if k else None, 0.001 * (k + 1),
            "pending", 1_699_999_999_000 + k,
        )
        for k in range(5)  # enough ids to be looked up near their times
    ]  # fmt: skip
    store = OutcomeStore(db)
    assert store.insert_pending(rows) == 5
    with db.cursor() as cur:
        got = cur.execute("SELECT * FROM outcomes ORDER BY sample_id").fetchall()
    for r, row in zip(rows, got, strict=True):
        assert row[: len(PENDING_FIELDS)] == tuple(getattr(r, f) for f in PENDING_FIELDS)
        assert row[len(PENDING_FIELDS) :] == (None,) * len(UNKNOWN_YET)

"""Replayable training steps (``training_step_records``): what each applied step was made of.

A row is one applied weight update of a run: the ids of its batch's samples (``id_kind``
``sample``: ``training_samples`` ids; ``frame``: frame ids, for steps whose samples have no
rows), how to rebuild the batch (``batch_refs``, plain JSON), every loss component, the
gradient norm per parameter group, the learning rate, the per-step seed, the torch settings
it ran under, and the hash of the model's full state (weights, optimiser, step) before and
after. ``step_id`` is ``<run_id>:<step>``, the step being the model's step count after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.store.db import Database
from ghostcandle.store.id_filters import among

SAMPLE, FRAME = "sample", "frame"

_COLS = (
    "step_id, run_id, step, at_time, source, id_kind, sample_ids, batch_refs, losses, "
    "grad_norms, learning_rate, seed, torch_threads, deterministic, hash_before, hash_after, "
    "duration_ms"
)


def step_id(run_id: str, step: int) -> str:
    """Return the id of the step that brought run ``run_id`` to model step ``step``."""
    return f"{run_id}:{step}"


@dataclass(frozen=True)
class StepRecord:
    """One applied training step, as stored."""

    run_id: str
    step: int
    at: int
    source: str
    id_kind: str
    sample_ids: tuple[str, ...]
    batch_refs: Mapping[str, Any]
    losses: Mapping[str, float]
    grad_norms: Mapping[str, float]
    learning_rate: float | None
    seed: int | None
    torch_threads: int
    deterministic: bool
    hash_before: str
    hash_after: str
    duration_ms: float

    @property
    def step_id(self) -> str:
        """Return ``<run_id>:<step>``."""
        return step_id(self.run_id, self.step)

    def to_json(self) -> dict[str, Any]:
        """Return the record as plain JSON values (the batch references left out)."""
        return {
            "step_id": self.step_id,
            "run_id": self.run_id,
            "step": self.step,
            "at": self.at,
            "source": self.source,
            "id_kind": self.id_kind,
            "samples": len(self.sample_ids),
            "losses": dict(self.losses),
            "grad_norms": dict(self.grad_norms),
            "learning_rate": self.learning_rate,
            "seed": self.seed,
            "hash_before": self.hash_before,
            "hash_after": self.hash_after,
            "duration_ms": round(self.duration_ms, 3),
        }


class StepRecordStore:
    """Read and write ``training_step_records``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def insert_in(self, con: duckdb.DuckDBPyConnection, records: Sequence[StepRecord]) -> None:
        """Store ``records`` inside an open transaction (a step recorded again replaces it).

        One columnar insert (an Arrow table): a row-by-row ``executemany`` cost ~5 ms a record.
        The table has no key (migration 74): the rows of the batch's steps are deleted first,
        looked up by run and step range (the zone maps skip the rest); of a step given twice
        in ``records`` the last is kept.
        """
        last = {r.step_id: r for r in records}
        records = list(last.values())
        if not records:
            return
        table = pa.table(
            {
                "step_id": pa.array([r.step_id for r in records], pa.string()),
                "run_id": pa.array([r.run_id for r in records], pa.string()),
                "step": pa.array([r.step for r in records], pa.int64()),
                "at_time": pa.array([r.at for r in records], pa.int64()),
                "source": pa.array([r.source for r in records], pa.string()),
                "id_kind": pa.array([r.id_kind for r in records], pa.string()),
                "sample_ids": pa.array(
                    [list(r.sample_ids) for r in records], pa.list_(pa.string())
                ),
                "batch_refs": pa.array(
                    [json.dumps(r.batch_refs, separators=(",", ":")) for r in records], pa.string()
                ),
                "losses": pa.array([json.dumps(dict(r.losses)) for r in records], pa.string()),
                "grad_norms": pa.array(
                    [json.dumps(dict(r.grad_norms)) for r in records], pa.string()
                ),
                "learning_rate": pa.array([r.learning_rate for r in records], pa.float64()),
                "seed": pa.array([r.seed for r in records], pa.int64()),
                "torch_threads": pa.array([r.torch_threads for r in records], pa.int32()),
                "deterministic": pa.array([r.deterministic for r in records], pa.bool_()),
                "hash_before": pa.array([r.hash_before for r in records], pa.string()),
                "hash_after": pa.array([r.hash_after for r in records], pa.string()),
                "duration_ms": pa.array([r.duration_ms for r in records], pa.float64()),
            }
        )
        ids = [r.step_id for r in records]
        for run_id, (lo, hi) in _spans(records).items():
            # a few steps by a filter: a hash table's nodes stay in DuckDB (``id_filters``)
            con.execute(
                "DELETE FROM training_step_records WHERE run_id = $run AND step BETWEEN $lo "
                f"AND $hi AND {among('step_id', 'ids', ids)}",
                {"run": run_id, "lo": lo, "hi": hi, "ids": ids},
            )
        # the table's columns, in its order: appended as a relation (no view, no INSERT plan)
        con.from_arrow(table).insert_into("training_step_records")

    def forget_after_in(self, con: duckdb.DuckDBPyConnection, run_id: str, step: int) -> int:
        """Delete the records of ``run_id`` past model step ``step`` (a resumed run redoes them)."""
        row = con.execute(
            "SELECT count(*) FROM training_step_records WHERE run_id = ? AND step > ?",
            [run_id, step],
        ).fetchone()
        con.execute(
            "DELETE FROM training_step_records WHERE run_id = ? AND step > ?", [run_id, step]
        )
        return int(row[0]) if row else 0

    def get(self, sid: str) -> StepRecord | None:
        """Return the record of step id ``sid``, or None (looked up by its run and step)."""
        run_id, _, step = sid.rpartition(":")
        if not step.isdigit():
            return None
        with self.db.cursor() as cur:
            row = cur.execute(
                f"SELECT {_COLS} FROM training_step_records WHERE run_id = ? AND step = ? "
                "AND step_id = ?",
                [run_id, int(step), sid],
            ).fetchone()
        return None if row is None else _record(row)

    def require(self, sid: str) -> StepRecord:
        """Return the record of ``sid`` or raise a one-line ``UserInputError``."""
        if ":" not in sid:
            raise UserInputError(
                f"step id {sid!r} is not <run>:<step>: list steps with `ghostcandle train show RUN`"
            )
        found = self.get(sid)
        if found is None:
            raise DataMissingError(
                f"no training step {sid!r} is recorded: "
                "list steps with `ghostcandle train show RUN`"
            )
        return found

    def for_run(
        self, run_id: str, *, after: int | None = None, upto: int | None = None
    ) -> list[StepRecord]:
        """Return the records of ``run_id`` with ``after < step <= upto``, in step order."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {_COLS} FROM training_step_records WHERE run_id = ? AND step > ? "
                "AND step <= ? ORDER BY step",
                [run_id, -1 if after is None else after, 2**62 if upto is None else upto],
            ).fetchall()
        return [_record(r) for r in rows]

    def count(self, run_id: str) -> int:
        """Return how many steps of ``run_id`` are recorded."""
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT count(*) FROM training_step_records WHERE run_id = ?", [run_id]
            ).fetchone()
        return int(row[0]) if row else 0


def _spans(records: Sequence[StepRecord]) -> dict[str, tuple[int, int]]:
    """Return each run's first and last step among ``records``."""
    out: dict[str, tuple[int, int]] = {}
    for r in records:
        lo, hi = out.get(r.run_id, (r.step, r.step))
        out[r.run_id] = (min(lo, r.step), max(hi, r.step))
    return out


def _record(r: Sequence[Any]) -> StepRecord:
    return StepRecord(
        run_id=str(r[1]),
        step=int(r[2]),
        at=int(r[3]),
        source=str(r[4]),
        id_kind=str(r[5]),
        sample_ids=tuple(str(x) for x in r[6]),
        batch_refs=json.loads(r[7]),
        losses={str(k): float(v) for k, v in json.loads(r[8]).items()},
        grad_norms={str(k): float(v) for k, v in json.loads(r[9]).items()},
        learning_rate=None if r[10] is None else float(r[10]),
        seed=None if r[11] is None else int(r[11]),
        torch_threads=int(r[12]),
        deterministic=bool(r[13]),
        hash_before=str(r[14]),
        hash_after=str(r[15]),
        duration_ms=float(r[16]),
    )

"""Training runs (``training_runs``): one row per run of one trainer, with its loss curves.

A run is an annotation batch training, an offline fit, or a live/replay session's online
training. The row names the model and its config, where its batches come from (``source``:
what a replayed step rebuilds its batch from), the state it started from (``start_step`` and
``start_hash``), the steps applied, the training and validation loss curves (downsampled
``[step, loss]`` pairs), the convergence state and the validation improvement per 1,000 steps.
The mean profitability of its samples is read at query time from ``outcomes`` (outcomes are
validated after the run).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.store.db import Database

#: Run kinds, and the statuses a run row moves through.
ANNOTATIONS, OFFLINE, SESSION = "annotations", "offline", "session"
RUNNING, FINISHED, FAILED = "running", "finished", "failed"
#: a run whose process died while it ran (``mark_interrupted``); resuming it runs it again
INTERRUPTED = "interrupted"

_COLS = (
    "run_id, kind, model, model_config, source, checkpoint_key, status, started_at, ended_at, "
    "start_step, start_hash, steps, train_curve, val_curve, convergence, value_per_1k, summary"
)
Curve = tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class RunRow:
    """What is stored about one training run."""

    run_id: str
    kind: str
    model: str
    model_config: Mapping[str, Any]
    source: Mapping[str, Any]
    checkpoint_key: str | None
    status: str
    started_at: int
    ended_at: int | None
    start_step: int
    start_hash: str
    steps: int
    train_curve: Curve = ()
    val_curve: Curve = ()
    convergence: str = "unknown"
    value_per_1k: float | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self, *, curves: bool = True) -> dict[str, Any]:
        """Return the row as plain JSON values (``curves``: with the loss curves)."""
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "kind": self.kind,
            "model": self.model,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "start_step": self.start_step,
            "steps": self.steps,
            "convergence": self.convergence,
            "value_per_1k_steps": self.value_per_1k,
            "last_train_loss": self.train_curve[-1][1] if self.train_curve else None,
            "last_val_loss": self.val_curve[-1][1] if self.val_curve else None,
        }
        if curves:
            out["model_config"] = dict(self.model_config)
            out["source"] = dict(self.source)
            out["checkpoint_key"] = self.checkpoint_key
            out["start_hash"] = self.start_hash
            out["train_curve"] = [list(p) for p in self.train_curve]
            out["val_curve"] = [list(p) for p in self.val_curve]
            out["summary"] = dict(self.summary)
        return out


@dataclass(frozen=True)
class SampleValue:
    """The outcomes of a run's samples: how many are known and their mean profitability."""

    samples: int
    validated: int
    mean_profitability: float | None

    def to_json(self) -> dict[str, Any]:
        """Return the figures as plain JSON values."""
        return {
            "samples": self.samples,
            "validated": self.validated,
            "mean_profitability": self.mean_profitability,
        }


class TrainingRunStore:
    """Read and write ``training_runs``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save_in(self, con: duckdb.DuckDBPyConnection, row: RunRow) -> None:
        """Insert or replace ``row`` inside an open transaction."""
        con.execute(
            f"INSERT OR REPLACE INTO training_runs ({_COLS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                row.run_id,
                row.kind,
                row.model,
                json.dumps(dict(row.model_config), sort_keys=True),
                json.dumps(dict(row.source), sort_keys=True),
                row.checkpoint_key,
                row.status,
                row.started_at,
                row.ended_at,
                row.start_step,
                row.start_hash,
                row.steps,
                json.dumps([list(p) for p in row.train_curve]),
                json.dumps([list(p) for p in row.val_curve]),
                row.convergence,
                row.value_per_1k,
                json.dumps(dict(row.summary), default=str),
            ],
        )

    def mark_interrupted(self) -> list[str]:
        """Set ``interrupted`` on every run left ``running``; return their ids, oldest first.

        Only for the process that has just opened the database for writing, before it begins
        a run (``sessions.interrupt_dead``): such a row is from a process that died.
        """
        with self.db.transaction() as con:
            rows = con.execute(
                "UPDATE training_runs SET status = ? WHERE status = ? RETURNING run_id, started_at",
                [INTERRUPTED, RUNNING],
            ).fetchall()
        return [str(r[0]) for r in sorted(rows, key=lambda r: (r[1], r[0]))]

    def get(self, run_id: str) -> RunRow | None:
        """Return the run, or None."""
        rows = self._select("WHERE run_id = ?", [run_id])
        return rows[0] if rows else None

    def require(self, run_id: str) -> RunRow:
        """Return the run or raise a one-line ``UserInputError``."""
        found = self.get(run_id)
        if found is None:
            raise DataMissingError(
                f"no training run {run_id!r} is recorded: list runs with `ghostcandle train list`"
            )
        return found

    def list(self, *, kind: str | None = None, limit: int = 200) -> list[RunRow]:
        """Return the newest runs first (of ``kind`` if given), at most ``limit``."""
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        return self._select(f"{where} ORDER BY started_at DESC, run_id LIMIT {int(limit)}", params)

    def sample_value(self, run_id: str) -> SampleValue:
        """Return how many distinct samples the run trained on and their validated outcomes."""
        with self.db.cursor() as cur:
            row = cur.execute(
                "WITH s AS (SELECT DISTINCT unnest(sample_ids) AS sample_id "
                "FROM training_step_records WHERE run_id = ? AND id_kind = 'sample') "
                "SELECT count(*), count(o.profitability), avg(o.profitability) FROM s "
                "LEFT JOIN outcomes o ON o.sample_id = s.sample_id AND o.status = 'validated'",
                [run_id],
            ).fetchone()
        if row is None:
            return SampleValue(0, 0, None)
        return SampleValue(int(row[0]), int(row[1]), None if row[2] is None else float(row[2]))

    def _select(self, tail: str, params: Sequence[Any]) -> builtins.list[RunRow]:
        with self.db.cursor() as cur:
            rows = cur.execute(f"SELECT {_COLS} FROM training_runs {tail}", list(params)).fetchall()
        return [_row(r) for r in rows]


def _curve(text: str) -> Curve:
    return tuple((int(s), float(v)) for s, v in json.loads(text))


def _row(r: Sequence[Any]) -> RunRow:
    return RunRow(
        run_id=str(r[0]),
        kind=str(r[1]),
        model=str(r[2]),
        model_config=json.loads(r[3]),
        source=json.loads(r[4]),
        checkpoint_key=None if r[5] is None else str(r[5]),
        status=str(r[6]),
        started_at=int(r[7]),
        ended_at=None if r[8] is None else int(r[8]),
        start_step=int(r[9]),
        start_hash=str(r[10]),
        steps=int(r[11]),
        train_curve=_curve(r[12]),
        val_curve=_curve(r[13]),
        convergence=str(r[14]),
        value_per_1k=None if r[15] is None else float(r[15]),
        summary=json.loads(r[16]),
    )

"""Offline training runs: one row per fit or walk-forward, so runs can be listed and compared.

A row names the model and its config, the symbol, timeframes and range, the fit settings (seed
included), the training and validation loss of every epoch, the best epoch, the checkpoint
written (its name relative to the checkpoint directory) and a JSON summary (split, samples;
for a walk-forward, every fold and the aggregate evaluation).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from ghostcandle.store.db import Database

FIT, WALK_FORWARD = "fit", "walk_forward"

_COLS = (
    "run_id",
    "kind",
    "name",
    "model",
    "model_config",
    "symbol",
    "timeframes",
    "range_start",
    "range_end",
    "settings",
    "epochs_run",
    "best_epoch",
    "train_losses",
    "val_losses",
    "checkpoint",
    "created_at",
    "duration_s",
    "summary",
)
_JSON = {"model_config", "timeframes", "settings", "train_losses", "val_losses", "summary"}


@dataclass(frozen=True)
class OfflineRunRecord:
    """What is stored about one offline run."""

    run_id: str
    kind: str
    name: str | None
    model: str
    model_config: Mapping[str, Any]
    symbol: str
    timeframes: Sequence[str]
    range_start: int
    range_end: int
    settings: Mapping[str, Any]
    epochs_run: int
    best_epoch: int | None
    train_losses: Sequence[float]
    val_losses: Sequence[float]
    checkpoint: str | None
    created_at: int
    duration_s: float
    summary: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Return the record as plain JSON values."""
        return {c: _plain(getattr(self, c)) for c in _COLS}


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return dict(v)
    if isinstance(v, tuple):
        return list(v)
    return v


class OfflineRunStore:
    """Read and write ``offline_runs``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save_in(self, con: duckdb.DuckDBPyConnection, rec: OfflineRunRecord) -> None:
        """Insert ``rec`` inside an open transaction ``con``."""
        values = [
            json.dumps(_plain(getattr(rec, c)), sort_keys=True) if c in _JSON else getattr(rec, c)
            for c in _COLS
        ]
        con.execute(
            f"INSERT INTO offline_runs ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})",
            values,
        )

    def list(self, name: str | None = None) -> list[OfflineRunRecord]:
        """Return the runs (those of checkpoint ``name`` if given), oldest first."""
        with self.db.cursor() as cur:
            exists = cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'offline_runs'"
            ).fetchone()
            if not exists or not exists[0]:  # a database opened read-only before the migration
                return []
            where, params = ("WHERE name = ?", [name]) if name is not None else ("", [])
            rows = cur.execute(
                f"SELECT {', '.join(_COLS)} FROM offline_runs {where} ORDER BY created_at, run_id",
                params,
            ).fetchall()
        return [_record(r) for r in rows]

    def count(self) -> int:
        """Return how many runs are stored."""
        return len(self.list())


def _record(row: Sequence[Any]) -> OfflineRunRecord:
    data = {c: json.loads(str(v)) if c in _JSON else v for c, v in zip(_COLS, row, strict=True)}
    return OfflineRunRecord(
        run_id=str(data["run_id"]),
        kind=str(data["kind"]),
        name=None if data["name"] is None else str(data["name"]),
        model=str(data["model"]),
        model_config=data["model_config"],
        symbol=str(data["symbol"]),
        timeframes=tuple(data["timeframes"]),
        range_start=int(data["range_start"]),
        range_end=int(data["range_end"]),
        settings=data["settings"],
        epochs_run=int(data["epochs_run"]),
        best_epoch=None if data["best_epoch"] is None else int(data["best_epoch"]),
        train_losses=tuple(float(x) for x in data["train_losses"]),
        val_losses=tuple(float(x) for x in data["val_losses"]),
        checkpoint=None if data["checkpoint"] is None else str(data["checkpoint"]),
        created_at=int(data["created_at"]),
        duration_s=float(data["duration_s"]),
        summary=data["summary"],
    )

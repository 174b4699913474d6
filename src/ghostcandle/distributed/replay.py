"""Replays on Ray: one session per symbol, each in its own DuckDB file, merged in one go.

A replay's loop writes its session, ledger, frames, steps and checkpoints, so each task runs the
ordinary replay (``engine.replay.run_replay``) on a database of its own, beside the snapshot,
holding its symbol's candles from the snapshot; its checkpoints go beside that file. Once every
task has succeeded, the driver reads the workers' files in place (DuckDB ``ATTACH``, read-only)
and copies every row they wrote into the main database in one transaction, and their checkpoint
files into its checkpoint folder. Each session equals ``ghostcandle replay --symbol S``.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ghostcandle.distributed.cluster import ray_cluster
from ghostcandle.distributed.snapshot import (
    export_candles,
    literal,
    load_candles,
    snapshot_folder,
)
from ghostcandle.distributed.tasks import Task, run_tasks
from ghostcandle.domain.errors import ConflictError
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for
from ghostcandle.store.db import Database

#: tables a worker's database holds but the merge leaves alone: its copy of the candles and the
#: migration bookkeeping (the same migrations on both sides)
_KEEP_OUT = {"candles", "schema_migrations"}
#: tables without a key whose rows a worker may make again for what the main database already
#: holds: a row is copied only where none with these columns is stored. Indicators and pivots
#: come from the same candles; a sample's id (and its outcome's) hashes its frame, the same when
#: the main database replayed the symbol with the model before; a book row would be a copy of
#: the main one. Step records, paper trades and equity points are not listed: each belongs to a
#: session (a session's run is its session id), checked absent.
_UNIQUE_BY = {
    "indicators": ("symbol", "timeframe", "open_time"),
    "pivot_points": ("pivot_time", "symbol", "timeframe", "pivot_type"),
    "training_samples": ("decision_time", "sample_id"),
    "outcomes": ("decision_time", "sample_id"),
    "depth_snapshots": ("symbol", "time"),
}


def replay_task(snapshot: str, folder: str, request: ReplayRequest) -> dict[str, Any]:
    """Run one symbol's replay on a database of its own (on a worker); return its summary."""
    symbol = request.config.symbols[0]
    path = Path(folder) / f"{request.config.session_id}.duckdb"
    with Database(path) as db:
        load_candles(db, Path(snapshot), symbol)
        summary = run_replay(db, request)
    return {"summary": summary, "db": str(path)}


def replays_on_ray(
    db_path: Path, requests: Sequence[ReplayRequest], address: str | None
) -> list[dict[str, Any]]:
    """Run every (one-symbol) replay as a Ray task; merge them; return their summaries."""
    with snapshot_folder(db_path) as folder:
        with Database(db_path, read_only=True) as db:
            ids = [r.config.session_id for r in requests]
            known = db.con.execute(
                "SELECT session_id FROM loop_sessions WHERE session_id IN (SELECT unnest($i))",
                {"i": ids},
            ).fetchall()
            if known:
                raise ConflictError(
                    f"session {known[0][0]} is already stored: resume it without --ray, or "
                    "give --session a new name"
                )
            symbols = [r.config.symbols[0] for r in requests]
            snapshot = str(export_candles(db, symbols, folder))
        tasks = [
            Task(f"{r.config.symbols[0]} replay", replay_task, (snapshot, str(folder), r))
            for r in requests
        ]
        with ray_cluster(address):
            done = run_tasks(tasks)
        _merge(db_path, [Path(d["db"]) for d in done])
    return [d["summary"] for d in done]


def _copy(con: Any, table: str, part: str) -> str:
    """Return the statement copying ``part``'s rows of ``table`` into the main database.

    A row a keyed table, or one of ``_UNIQUE_BY``, already holds (pivots, indicators: derived
    from the same candles) is kept as it is, and so is the first of two workers' copies; every
    other row is new (the sessions were checked absent).
    """
    if table in _UNIQUE_BY:
        same = " AND ".join(f"m.{c} = p.{c}" for c in _UNIQUE_BY[table])
        return (
            f"INSERT INTO main.{table} SELECT * FROM {part}.{table} p "
            f"WHERE NOT EXISTS (SELECT 1 FROM main.{table} m WHERE {same})"
        )
    keyed = con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE database_name = current_database() "
        "AND table_name = $t AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')",
        {"t": table},
    ).fetchone()[0]
    verb = "INSERT OR IGNORE" if keyed else "INSERT"
    return f"{verb} INTO main.{table} SELECT * FROM {part}.{table}"


def _merge(db_path: Path, parts: Sequence[Path]) -> None:
    """Copy the workers' rows and checkpoint files into the main database and its folder."""
    target = checkpoint_dir_for(db_path)
    copied: list[Path] = []
    with Database(db_path) as db:
        try:
            for part in parts:
                source = checkpoint_dir_for(part)
                if source.is_dir():
                    for entry in source.iterdir():
                        if not (target / entry.name).exists():
                            copied.append(target / entry.name)
                        shutil.copytree(entry, target / entry.name, dirs_exist_ok=True)
            with db.lock:
                for i, part in enumerate(parts):
                    db.con.execute(f"ATTACH {literal(part)} AS part{i} (READ_ONLY)")
            with db.transaction() as con:
                for i in range(len(parts)):
                    tables = con.execute(
                        "SELECT table_name FROM duckdb_tables() WHERE database_name = $d",
                        {"d": f"part{i}"},
                    ).fetchall()
                    for (table,) in tables:
                        if table not in _KEEP_OUT:
                            con.execute(_copy(con, table, f"part{i}"))
        except BaseException:
            for path in copied:  # no session row names them: they would be orphans
                shutil.rmtree(path, ignore_errors=True)
            raise
        finally:
            with db.lock:
                for (name,) in db.con.execute(
                    "SELECT database_name FROM duckdb_databases() WHERE database_name LIKE 'part%'"
                ).fetchall():
                    db.con.execute(f"DETACH {name}")

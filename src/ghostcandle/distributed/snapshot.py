"""The candles a distributed run reads: one Parquet file exported from the store.

The driver exports the candles of the run's symbols with DuckDB (``COPY ... TO``); each task
loads its own symbol's rows from that file into an in-memory database, so no worker ever opens
the main DuckDB file (DuckDB allows one writing process per file) and every task reads exactly
the candles the sequential run reads.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ghostcandle.store.db import Database

FILE = "candles.parquet"


@contextmanager
def snapshot_folder(db_path: Path) -> Iterator[Path]:
    """Make a folder beside the database for one run's snapshot; remove it after the block.

    Beside the database, so that the workers of a cluster reach it where the database's folder
    is shared storage.
    """
    root = Path(f"{db_path}.ray")
    folder = root / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if root.exists() and not any(root.iterdir()):
            root.rmdir()


def export_candles(db: Database, symbols: Sequence[str], folder: Path) -> Path:
    """Write the stored candles of ``symbols`` to ``folder`` as Parquet; return the file."""
    path = folder / FILE
    with db.lock:
        db.con.execute(
            f"COPY (SELECT * FROM candles WHERE symbol IN (SELECT unnest($s)) "
            f"ORDER BY symbol, timeframe, open_time) TO {literal(path)} (FORMAT parquet)",
            {"s": list(symbols)},
        )
    return path


def open_snapshot(path: Path, symbol: str) -> Database:
    """Return an in-memory database holding the snapshot's candles of ``symbol``."""
    db = Database(":memory:")
    load_candles(db, path, symbol)
    return db


def load_candles(db: Database, path: Path, symbol: str) -> None:
    """Copy the snapshot's candles of ``symbol`` into ``db`` (a worker's own database).

    ``candles`` has no key: a candle ``db`` already holds is not copied again.
    """
    with db.transaction() as con:
        con.execute(
            f"INSERT INTO candles SELECT * FROM read_parquet({literal(path)}) p "
            "WHERE symbol = $s AND NOT EXISTS (SELECT 1 FROM candles c WHERE c.symbol = $s "
            "AND c.timeframe = p.timeframe AND c.open_time = p.open_time)",
            {"s": symbol},
        )


def literal(path: Path) -> str:
    """Return ``path`` as a SQL string literal."""
    # COPY and read_parquet take the file name as a literal, not a parameter
    return "'" + str(path).replace("'", "''") + "'"

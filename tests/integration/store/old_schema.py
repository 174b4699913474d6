"""A DuckDB file at an older schema: some migrations applied and recorded, the rest pending.

The tests of a migration build one, write rows the old way, then open it with ``Database``
(which applies what is pending) and check the rows came through.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from ghostcandle.store.db import SCHEMA_MIGRATIONS
from ghostcandle.store.migrations import all_migrations


def open_at(path: Path, applied: Callable[[int], bool]) -> duckdb.DuckDBPyConnection:
    """Create ``path`` with the migrations whose version ``applied`` accepts; return it open."""
    con = duckdb.connect(str(path))
    con.execute(SCHEMA_MIGRATIONS)
    for m in all_migrations():
        if applied(m.version):
            for sql in m.statements:
                con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", [m.version, m.name])
    return con

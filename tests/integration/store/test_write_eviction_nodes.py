"""A live feed's indicator and pivot writes leave no hash table's nodes in DuckDB's memory.

Each buffer a query's hash table (a join, ``IN (SELECT ...)``, ``NOT EXISTS``) takes from
DuckDB's buffer manager leaves a node in its eviction queues, and a node (~170 bytes with its
block handle) stays until that queue passes ~32k of them: at a 30x feed's few writes a candle,
serve grew ~1 MB a minute from those. The writes find their stored rows with a filter instead;
what is left is the append itself, measured as the floor: the same rows appended bare.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from ghostcandle.domain.events import Pivot
from ghostcandle.domain.indicators import INDICATOR_COLUMNS
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.indicators import IndicatorStore
from ghostcandle.store.pivots import PivotStore

T0 = 1_700_000_000_000
WRITES = 200


def _nodes(db: Database, first_queue: int = 0) -> int:
    """Return how many nodes DuckDB has put in its eviction queues from ``first_queue`` on."""
    row = db.con.execute(
        "SELECT sum(total_insertions) FROM duckdb_eviction_queues() WHERE queue_index >= ?",
        [first_queue],
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def per_write(
    db: Database, write: Callable[[int], object], *, first_queue: int = 0, writes: int = WRITES
) -> float:
    """Return the nodes (queues ``first_queue`` on) a call of ``write(t)`` leaves, on average."""
    before = _nodes(db, first_queue)
    for i in range(writes):
        write(T0 + i * 1000)
    return (_nodes(db, first_queue) - before) / writes


def _bare_append(
    db: Database, table: str, rows: Callable[[int], pa.Table], delete: str = ""
) -> float:
    """Nodes a write of ``rows`` costs with nothing looked up: in one transaction, ``delete``
    (a statement of the write's time ``$t``, by a plain filter) then one append."""

    def write(t: int) -> None:
        with db.transaction() as con:
            if delete:
                con.execute(delete, {"t": t})
            con.from_arrow(rows(t)).insert_into(table)

    return per_write(db, write)


def _indicator_rows(t: int) -> pa.Table:
    cols = {"symbol": ["ETH/USDT"] * 2, "timeframe": ["1s"] * 2, "open_time": [t - 1000, t]}
    return pa.table({**cols, **{c: [0.5, 0.5] for c in INDICATOR_COLUMNS}})


def test_a_feeds_indicator_write_costs_no_more_nodes_than_its_append(tmp_path: Path) -> None:
    with Database(tmp_path / "a.duckdb") as floor_db, Database(tmp_path / "b.duckdb") as db:
        rewrite = "DELETE FROM indicators WHERE open_time BETWEEN $t - 1000 AND $t"
        floor = _bare_append(floor_db, "indicators", _indicator_rows, rewrite)
        store = IndicatorStore(db)
        rng = np.random.default_rng(1)

        def write(t: int) -> None:
            # each write rewrites the previous candle's row, as the live feed does
            store.write(
                "ETH/USDT", "1s", np.array([t - 1000, t]), rng.random((2, len(INDICATOR_COLUMNS)))
            )

        got = per_write(db, write)
    assert got <= floor + 0.25, (got, floor)


def _pivots(t: int) -> list[Pivot]:
    return [
        Pivot("ETH/USDT", "1s", t - 5000, 100.0, "SH", 1, 0.5, t),
        Pivot("ETH/USDT", "1s", t - 4000, 99.0, "SL", 1, 0.5, t),
    ]


def test_a_feeds_pivot_write_costs_no_more_nodes_than_its_append(tmp_path: Path) -> None:
    def rows(t: int) -> pa.Table:
        ps = _pivots(t)
        fields = ("symbol", "timeframe", "pivot_time", "price", "pivot_type", "level")
        cols = {f: [getattr(p, f) for p in ps] for f in (*fields, "strength", "confirmed_at")}
        return pa.table(cols)

    with Database(tmp_path / "a.duckdb") as floor_db, Database(tmp_path / "b.duckdb") as db:
        floor = _bare_append(floor_db, "pivot_points", rows)
        store = PivotStore(db)
        # each write also brings one pivot already stored (kept as it is)
        got = per_write(db, lambda t: store.write([*_pivots(t), *_pivots(t - 1000)[:1]]))
        stored = db.con.execute("SELECT count(*) FROM pivot_points").fetchone()
    assert stored is not None
    assert stored[0] == 2 * WRITES + 1  # and the first write's older one
    # its look-up's result (the range's stored pivots) takes buffers too: up to one node more
    assert got <= floor + 1.0, (got, floor)


def _frame_rows(t: int) -> list[tuple[object, ...]]:
    return [
        (f"f{t}-{m}", m, "v1", "ETH/USDT", "1s", t, t + 1000, "[]", "{}", "h") for m in ("a", "b")
    ]


def test_a_ticks_frame_write_costs_no_more_nodes_than_its_append(tmp_path: Path) -> None:
    def rows(t: int) -> pa.Table:
        cols = list(zip(*_frame_rows(t), strict=True))
        names = [r[0] for r in db.con.execute("DESCRIBE frames").fetchall()]
        return pa.table({str(n): list(c) for n, c in zip(names, cols, strict=True)})

    with Database(tmp_path / "a.duckdb") as floor_db, Database(tmp_path / "b.duckdb") as db:
        floor = _bare_append(floor_db, "frames", rows)
        store = FrameStore(db)

        def write(t: int) -> None:
            # a tick's frames, and one of the previous tick's again (kept as first stored)
            with db.transaction() as con:
                store.register_in(con, [*_frame_rows(t), *_frame_rows(t - 1000)[:1]])

        got = per_write(db, write)
        stored = db.con.execute("SELECT count(*), count(DISTINCT frame_id) FROM frames").fetchone()
    assert stored == (2 * WRITES + 1, 2 * WRITES + 1)
    # its look-up's result (the range's stored ids) takes buffers too: up to one node more
    assert got <= floor + 1.0, (got, floor)

"""Memory of the candle store under a live feed's writes; print ONE JSON line.

Writes ``N`` 1s candles (default 1,000,000: 4 symbols, 250,000 seconds each) through
``CandleStore.write_many`` in batches of ``BATCH`` seconds of every symbol, each with the
caller's newest-stored hint, as the live candle builder does, into a new database file. The
floor, measured in the same run: the same rows in the same batches inserted into a plain
keyless table of the same columns (one Arrow insert per batch, in a transaction). Each side runs
in a process of its own; reported per side: DuckDB's own accounting after the writes (``SELECT
sum(memory_usage_bytes) FROM duckdb_memory()``, with its largest tags), the growth of the
process's RSS over the writes, and the write time. ``store_vs_floor_duckdb_memory`` = store /
floor bytes.

Usage: ``python bench/bench_candle_memory.py [N]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pyarrow as pa

import ghostcandle
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.store.candle_records import candle_table
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOLS = ("AAA/USDT", "BBB/USDT", "CCC/USDT", "DDD/USDT")
BATCH = 30  # seconds of every symbol per write: ~one flush of a 30x feed
T0 = 1_735_689_600_000  # 2025-01-01
MB = 1024 * 1024
FLOOR_DDL = """
CREATE TABLE plain (
    symbol VARCHAR NOT NULL, timeframe VARCHAR NOT NULL, open_time BIGINT NOT NULL,
    open DOUBLE NOT NULL, high DOUBLE NOT NULL, low DOUBLE NOT NULL, close DOUBLE NOT NULL,
    volume DOUBLE NOT NULL, n_parts INTEGER, complete BOOLEAN NOT NULL, source VARCHAR,
    provenance VARCHAR NOT NULL
)
"""


def _batches(n: int) -> Any:
    """Yield the feed's batches: ``BATCH`` seconds of every symbol, oldest first."""
    seconds = n // len(SYMBOLS)
    for start in range(0, seconds, BATCH):
        out = []
        for s in range(start, min(start + BATCH, seconds)):
            t = T0 + 1000 * s
            for i, sym in enumerate(SYMBOLS):
                p = 100.0 * (i + 1) + (s % 600) * 0.01
                out.append(Candle(sym, "1s", t, p, p + 0.05, p - 0.05, p + 0.01, 1.0 + s % 7))
        yield out


def _duckdb_memory(db: Database) -> dict[str, Any]:
    rows = db.con.execute(
        "SELECT tag, sum(memory_usage_bytes) FROM duckdb_memory() GROUP BY tag ORDER BY 2 DESC"
    ).fetchall()
    total = sum(int(r[1]) for r in rows)
    top = {str(r[0]): round(int(r[1]) / MB, 1) for r in rows[:3] if r[1]}
    return {"duckdb_memory_mb": round(total / MB, 1), "duckdb_memory_bytes": total, "tags_mb": top}


def side(kind: str, n: int, folder: Path) -> dict[str, Any]:
    """Write the batches into a new database (``store`` or ``floor``); return its figures."""
    proc = psutil.Process()
    with Database(folder / f"{kind}.duckdb") as db:
        store = CandleStore(db)
        if kind == "floor":
            db.con.execute(FLOOR_DDL)
        rss0 = proc.memory_info().rss
        newest: dict[tuple[str, str], int] = {}
        rows = 0
        t = time.perf_counter()
        for batch in _batches(n):
            if kind == "store":
                verdicts = store.write_many(batch, provenance=CandleSource.WEBSOCKET, newest=newest)
                assert verdicts == ["new"] * len(batch)
                for c in batch:
                    newest[(c.symbol, c.timeframe)] = c.open_time
            else:
                table: pa.Table = candle_table(batch, "", CandleSource.WEBSOCKET)
                with db.transaction() as con:
                    con.from_arrow(table).insert_into("plain")
            rows += len(batch)
        seconds = time.perf_counter() - t
        return {
            "rows": rows,
            "write_s": round(seconds, 2),
            "rss_growth_mb": round((proc.memory_info().rss - rss0) / MB, 1),
            **_duckdb_memory(db),
        }


def _run_side(kind: str, n: int, folder: Path) -> dict[str, Any]:
    """Run ``side`` in a new process (its own RSS) on the same ``ghostcandle`` as this one."""
    src = str(Path(ghostcandle.__file__).resolve().parents[1])
    code = (
        f"import sys; sys.path.insert(0, {src!r}); import runpy; "
        f"m = runpy.run_path({__file__!r}); import json, pathlib; "
        f"print(json.dumps(m['side']({kind!r}, {n}, pathlib.Path({str(folder)!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Measure the store and its floor; print one JSON line."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        store = _run_side("store", n, Path(tmp))
        floor = _run_side("floor", n, Path(tmp))
    out = {
        "bench": "candle_memory",
        "cpus": os.cpu_count(),
        "load_avg_at_start": [round(x, 2) for x in load],
        "ghostcandle": str(Path(ghostcandle.__file__).resolve().parents[1]),
        "candles": n,
        "batch_candles": BATCH * len(SYMBOLS),
        "store": store,
        "floor_plain_keyless_table": floor,
        "store_vs_floor_duckdb_memory": round(
            store["duckdb_memory_bytes"] / max(1, floor["duckdb_memory_bytes"]), 2
        ),
        "store_vs_floor_rss_growth": round(
            store["rss_growth_mb"] / max(0.1, floor["rss_growth_mb"]), 2
        ),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

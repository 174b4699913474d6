"""Benchmark the candle store: ingest throughput and window-read latency; print ONE JSON line.

- **ingest**: ``ingest_files`` (read, validate, one transaction into the keyless ``candles``
  table) of a real candle file, the 90 days of BTC/USDT 1m in ../shared/data (a synthetic file
  of the same length when it is not there), beside two floors over the same file measured in
  the same run: pandas parsing it (no validation, no storage) and DuckDB reading it with
  ``read_csv`` into a new table (no validation, no key). Each side runs ``ROUNDS`` times,
  alternating, on a new database file each time; the best run of each counts (the machine is
  shared). ``ingest_vs_pandas_parse`` = pandas s / ingest s (aim: >= 0.5),
  ``ingest_vs_duckdb_read_csv`` = DuckDB s / ingest s. Also ingest with the roll-ups (1 run).
- **window reads**: ``CandleStore.window`` of 600 1m candles at random ends over N stored
  candles (default 1,000,000, synthetic), p50/p99/max in ms, beside the floor: a numpy slice of
  the same rows of an in-memory array; ``window_vs_numpy_slice`` = p50 / floor p50.

Usage: ``python bench/bench_store.py [N]``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec
from ghostcandle.ingest.service import ingest_files
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

REAL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "binance_BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"
)
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
ROUNDS = 3
READS = 1_000
LENGTH = 600
T0 = 1_577_836_800_000  # 2020-01-01


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def ingest(tmp: Path) -> dict[str, object]:
    """Return ingest and its two floors over one candle file, best of ``ROUNDS`` each."""
    if REAL.exists():
        path, data = REAL, "real BTC/USDT 1m 2025-05-20..08-18"
    else:
        path, data = tmp / "BENCHUSDT-1m-synthetic.csv.gz", "synthetic 1m (no ../shared/data)"
        df = synthetic_candles(130_000, "1m", start_ms=T0, seed=11)
        df.to_csv(path, index=False, compression={"method": "gzip", "compresslevel": 6})
    times: dict[str, list[float]] = {"pandas": [], "duckdb": [], "ingest": []}
    rows = 0
    for i in range(ROUNDS):
        times["pandas"].append(_timed(lambda: pd.read_csv(path)))
        with duckdb.connect(str(tmp / f"floor{i}.duckdb")) as con:
            t = time.perf_counter()
            con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv('{path}')")
            times["duckdb"].append(time.perf_counter() - t)
        with Database(tmp / f"ingest{i}.duckdb") as db:
            store = CandleStore(db)
            t = time.perf_counter()
            report = ingest_files(store, [path], symbol="BTC/USDT", timeframe="1m", rollup=False)
            times["ingest"].append(time.perf_counter() - t)
            rows = report.files[0].rows_read
    with Database(tmp / "rollup.duckdb") as db:
        store = CandleStore(db)
        rollup_s = _timed(
            lambda: ingest_files(store, [path], symbol="BTC/USDT", timeframe="1m", rollup=True)
        )
    best = {k: min(v) for k, v in times.items()}
    return {
        "data": data,
        "rows": rows,
        "rounds": ROUNDS,
        "ingest_rows_per_s": round(rows / best["ingest"]),
        "ingest_with_rollup_rows_per_s": round(rows / rollup_s),
        "floor_pandas_parse_rows_per_s": round(rows / best["pandas"]),
        "floor_duckdb_read_csv_rows_per_s": round(rows / best["duckdb"]),
        "ingest_vs_pandas_parse": round(best["pandas"] / best["ingest"], 3),
        "ingest_vs_duckdb_read_csv": round(best["duckdb"] / best["ingest"], 3),
        "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
    }


def window_reads(tmp: Path) -> dict[str, object]:
    """Return window-read latency over ``N`` stored candles, beside a numpy slice."""
    df = synthetic_candles(N, "1m", start_ms=T0, seed=11)
    with Database(tmp / "windows.duckdb") as db:
        store = CandleStore(db)
        store.write("BENCH/USDT", "1m", df, provenance=CandleSource.FILE, source="bench")
        rng = np.random.default_rng(5)
        ends = T0 + 60_000 * rng.integers(LENGTH, N, size=READS)
        store.window("BENCH/USDT", WindowSpec("1m", int(ends[0]), LENGTH))  # warm up
        lat = []
        for e in ends:
            t = time.perf_counter()
            w = store.window("BENCH/USDT", WindowSpec("1m", int(e), LENGTH))
            lat.append(time.perf_counter() - t)
            assert len(w.open_time) == LENGTH
    arr = df[["open", "high", "low", "close", "volume"]].to_numpy()
    base = []
    for e in ends:
        t = time.perf_counter()
        i = int((e - T0) // 60_000)
        arr[i - LENGTH + 1 : i + 1].copy()
        base.append(time.perf_counter() - t)
    ms, floor = np.array(lat) * 1e3, np.array(base) * 1e3
    return {
        "candles": N,
        "reads": READS,
        "length": LENGTH,
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
        "floor_numpy_slice_p50_ms": round(float(np.percentile(floor, 50)), 4),
        "window_vs_numpy_slice": round(float(np.percentile(ms, 50) / np.percentile(floor, 50)), 1),
    }


def main() -> None:
    """Run both benchmarks and print one JSON line."""
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = {
            "bench": "store",
            "cpus": os.cpu_count(),
            "load_avg_at_start": [round(x, 2) for x in load],
            "ingest": ingest(Path(tmp)),
            "window_reads": window_reads(Path(tmp)),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Benchmark the candle store: ingest throughput and window-read latency on 1,000,000 candles.

Prints one JSON line. Baselines measured in the same run: pandas parsing the same CSV.gz
(no validation, no storage) and a numpy slice of an in-memory array (no database).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec
from ghostcandle.ingest.service import ingest_files
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
READS = 1_000
LENGTH = 600
T0 = 1_577_836_800_000  # 2020-01-01


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "BENCHUSDT-1m-synthetic.csv.gz"
        df = synthetic_candles(N, "1m", start_ms=T0, seed=11)
        df.to_csv(path, index=False, compression={"method": "gzip", "compresslevel": 1})

        t = time.perf_counter()
        pd.read_csv(path)
        pandas_s = time.perf_counter() - t

        db = Database(Path(tmp) / "bench.duckdb")
        store = CandleStore(db)
        t = time.perf_counter()
        report = ingest_files(store, [path], rollup=False)
        ingest_s = time.perf_counter() - t
        assert report.files[0].accepted == N

        t = time.perf_counter()
        db2 = Database(Path(tmp) / "bench2.duckdb")
        ingest_files(CandleStore(db2), [path], rollup=True)
        ingest_rollup_s = time.perf_counter() - t
        db2.close()

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
        db.close()

    ms = np.array(lat) * 1e3
    print(
        json.dumps(
            {
                "bench": "store",
                "candles": N,
                "ingest_rows_per_s": round(N / ingest_s),
                "ingest_with_rollup_rows_per_s": round(N / ingest_rollup_s),
                "pandas_parse_only_rows_per_s": round(N / pandas_s),
                "ingest_vs_pandas_parse": round(pandas_s / ingest_s, 3),
                "window_reads": READS,
                "window_length": LENGTH,
                "window_p50_ms": round(float(np.percentile(ms, 50)), 3),
                "window_p99_ms": round(float(np.percentile(ms, 99)), 3),
                "window_max_ms": round(float(ms.max()), 3),
                "numpy_slice_p50_ms": round(float(np.percentile(np.array(base) * 1e3, 50)), 4),
            }
        )
    )


if __name__ == "__main__":
    main()

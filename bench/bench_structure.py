"""Benchmark market structure: incremental cost per closed candle and batch throughput.

Prints one JSON line:
- ``incremental_p50_ms`` / ``incremental_p99_ms``: indicators + pivots + rapid moves for one
  candle (compute only, after a 1,000-candle warm-up), over ``INCREMENTAL`` candles;
- ``store_p50_ms`` / ``store_p99_ms``: one engine flush (indicator row + pivots, one DuckDB
  transaction), measured separately because it is I/O;
- ``batch_candles_per_s``: ``compute_structure`` over ``BATCH`` candles, and the same for a
  baseline of one pandas rolling mean over the same closes (``batch_vs_rolling_mean``).

Floors, measured in the same run: for the incremental figure, one EMA update and one running
high per candle in plain Python, timed alike (``floor_ema_update_p50_ms``); for the store
figure, one row inserted into a plain table in its own transaction
(``floor_one_row_insert_p50_ms``); each with the ratio to it.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ghostcandle.domain.indicators import IndicatorState
from ghostcandle.domain.pivots import PivotDetector
from ghostcandle.domain.rapid_moves import RapidMoveDetector
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.structure.engine import compute_structure
from ghostcandle.store.db import Database
from ghostcandle.store.indicators import IndicatorStore
from ghostcandle.store.pivots import PivotStore

BATCH = 1_000_000
INCREMENTAL = 50_000
STORE = 300


def main() -> None:
    df = synthetic_candles(BATCH, "1m", start_ms=0, seed=1)
    t0 = time.perf_counter()
    res = compute_structure("BENCH", "1m", df)
    batch_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pd.Series(df["close"]).rolling(20).mean()
    base_s = time.perf_counter() - t0

    cols = [df[k].to_numpy()[: INCREMENTAL + 1000].tolist() for k in df.columns[:5]]
    ind, piv, rap = IndicatorState(), PivotDetector("B", "1m"), RapidMoveDetector("B", "1m")
    times = []
    for i, (t, o, h, lo, c) in enumerate(zip(*cols, strict=True)):
        s = time.perf_counter_ns()
        ind.update(h, lo, c)
        piv.update(t, h, lo, t + 60_000)
        rap.update(t, o, h, lo, c, t + 60_000)
        if i >= 1000:
            times.append(time.perf_counter_ns() - s)
    inc = np.array(times) / 1e6
    # floor: the least stateful work per candle in Python (one EMA, one running high), timed alike
    ema, top, floor_times = cols[4][0], cols[2][0], []
    for i, (h, c) in enumerate(zip(cols[2], cols[4], strict=True)):
        s = time.perf_counter_ns()
        ema += 0.1 * (c - ema)
        top = h if h > top else top
        if i >= 1000:
            floor_times.append(time.perf_counter_ns() - s)
    inc_floor = np.array(floor_times) / 1e6

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.duckdb")
        istore, pstore = IndicatorStore(db), PivotStore(db)
        store_times = []
        for i in range(STORE):
            s = time.perf_counter_ns()
            with db.transaction() as con:
                istore.write_in(con, "B", "1m", res.open_time[i : i + 1], res.indicators[i : i + 1])
                pstore.write_in(con, res.pivots[i : i + 1])
            store_times.append(time.perf_counter_ns() - s)
        # floor: one row into a plain table, one transaction each
        db.con.execute("CREATE TABLE floor_rows (t BIGINT, v DOUBLE)")
        floor_store = []
        for i in range(STORE):
            s = time.perf_counter_ns()
            with db.transaction() as con:
                con.execute("INSERT INTO floor_rows VALUES (?, ?)", [i, float(i)])
            floor_store.append(time.perf_counter_ns() - s)
        db.close()
    st, st_floor = np.array(store_times) / 1e6, np.array(floor_store) / 1e6
    print(
        json.dumps(
            {
                "bench": "structure",
                "batch_candles": BATCH,
                "batch_s": round(batch_s, 3),
                "batch_candles_per_s": round(BATCH / batch_s),
                "floor_rolling_mean_s": round(base_s, 3),
                "batch_vs_rolling_mean": round(batch_s / base_s, 1),
                "pivots": len(res.pivots),
                "rapid_moves": len(res.rapid_moves),
                "incremental_candles": len(inc),
                "incremental_p50_ms": round(float(np.percentile(inc, 50)), 4),
                "incremental_p99_ms": round(float(np.percentile(inc, 99)), 4),
                "floor_ema_update_p50_ms": round(float(np.percentile(inc_floor, 50)), 5),
                "incremental_vs_floor": round(
                    float(np.percentile(inc, 50) / np.percentile(inc_floor, 50)), 1
                ),
                "store_p50_ms": round(float(np.percentile(st, 50)), 3),
                "store_p99_ms": round(float(np.percentile(st, 99)), 3),
                "floor_one_row_insert_p50_ms": round(float(np.percentile(st_floor, 50)), 3),
                "store_vs_floor": round(
                    float(np.percentile(st, 50) / np.percentile(st_floor, 50)), 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Training samples by reference: stored bytes per sample, and the cost of verifying a batch.

Prints one JSON line:

- ``bytes_per_sample``: DuckDB file growth per sample over 100,000 recorded samples (frames
  already stored, as a prediction's are) and ``bytes_per_sample_with_frame`` (the frame row
  recorded with it); against ``copy_bytes_raw`` (the windows' candles as arrays) and
  ``copy_bytes_duckdb`` (the same candles stored as rows in DuckDB, per sample, measured on
  10,000 copies in the same run); ``copy_over_reference`` is the stored copy over the reference.
- ``verify_32_recent_ms`` / ``verify_32_spread_ms``: re-verifying 32 samples (integrity of every
  frame, one read per series and cluster) drawn from the newest decisions or from the whole
  month; ``per_frame_32_ms`` is the baseline of the same run, 32 frames re-materialised one by
  one through ``FrameStore.get_inference_data``.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.samples import NewSample
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS
from ghostcandle.engine.offline.dataset import DecisionDataset, load_dataset
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore, copy_bytes, frame_row
from ghostcandle.store.rollups import rollup_range

SYMBOL = "ETH/USDT"
T0 = 1_721_952_000_000
DAYS = 30
WINDOWS = {"1m": 60, "1h": 24}
SAMPLES = 100_000
COPIES = 10_000


def _size(db: Database) -> int:
    db.con.execute("CHECKPOINT")
    return os.path.getsize(db.path)


def _month(db: Database) -> DecisionDataset:
    store = CandleStore(db)
    df = synthetic_candles(DAYS * 1440, "1m", start_ms=T0, seed=7)
    with db.transaction() as con:
        store.write_in(con, SYMBOL, "1m", df, provenance=CandleSource.FILE)
        rollup_range(store, con, SYMBOL, "1m", T0, T0 + DAYS * DAY_MS - 1)
    return load_dataset(store, SYMBOL, list(WINDOWS), WINDOWS, T0 + 2 * DAY_MS, T0 + DAYS * DAY_MS)


def _items(data: DecisionDataset) -> list[NewSample]:
    """Return ``SAMPLES`` samples: every decision under a few models' names (distinct frames)."""
    rows = np.arange(len(data))
    out: list[NewSample] = []
    for k in range(-(-SAMPLES // len(rows))):
        frames = data.frames(rows, f"model-{k}", "1")
        out += data.samples(rows, frames)
    return out[:SAMPLES]


def _copy_in_duckdb(db: Database, frames: list[FrameRef]) -> int:
    """Store the windows' candles of ``frames`` as rows; return the file growth."""
    store = FrameStore(db)
    db.con.execute(
        "CREATE TABLE sample_copies (sample INTEGER, timeframe VARCHAR, open_time BIGINT, "
        "open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE)"
    )
    before = _size(db)
    for a in range(0, len(frames), 1000):
        parts = []
        for k, f in enumerate(frames[a : a + 1000], start=a):
            for w in store.get_inference_data(f):
                n = len(w.open_time)
                parts.append(
                    pa.table(
                        {
                            "sample": pa.array(np.full(n, k, np.int32)),
                            "timeframe": [w.spec.timeframe] * n,
                            "open_time": pa.array(w.open_time),
                            **{c: pa.array(w.values[:, i]) for i, c in enumerate(
                                ("open", "high", "low", "close", "volume"))},
                        }
                    )
                )  # fmt: skip
        db.con.from_arrow(pa.concat_tables(parts)).insert_into("sample_copies")
    return _size(db) - before


def _best_ms(fn: Callable[[], object], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-samples-"))
    figures: dict[str, object] = {"samples": SAMPLES, "windows": WINDOWS}
    with Database(tmp / "refs.duckdb") as db:
        data = _month(db)
        items = _items(data)
        registry = SampleRegistry(db, ReplayClock(T0 + DAYS * DAY_MS))
        # frames first (a prediction stores its frame), so the growth is the samples' own
        with db.transaction() as con:
            FrameStore(db).register_in(con, [frame_row(s.frame, "1m") for s in items])
        base = _size(db)
        t0 = time.perf_counter()
        recorded = registry.record_many(items)
        figures["record_samples_per_s"] = round(SAMPLES / (time.perf_counter() - t0))
        figures["bytes_per_sample"] = round((_size(db) - base) / SAMPLES, 1)
        ids = [s.sample_id for s in recorded]
        frames = FrameStore(db)
        rng = random.Random(0)
        spread = rng.sample(ids, 32)
        recent = ids[len(data) - 32 : len(data)]
        figures["verify_32_recent_ms"] = round(_best_ms(lambda: registry.read(recent)), 2)
        figures["verify_32_spread_ms"] = round(_best_ms(lambda: registry.read(spread)), 2)
        refs = [s.frame for s in registry.store.get(recent)]
        figures["per_frame_32_ms"] = round(
            _best_ms(lambda: [frames.get_inference_data(f) for f in refs]), 2
        )
        figures["verify_vs_per_frame"] = round(
            float(figures["verify_32_recent_ms"]) / float(figures["per_frame_32_ms"]), 3
        )
        raw = copy_bytes(frames.get_inference_data(refs[0]))
        figures["copy_bytes_raw"] = raw
        stored = _copy_in_duckdb(db, [s.frame for s in items[:COPIES]])
        figures["copy_bytes_duckdb"] = round(stored / COPIES, 1)
    with Database(tmp / "with_frames.duckdb") as db:
        data = _month(db)
        items = _items(data)
        base = _size(db)
        SampleRegistry(db, ReplayClock(T0)).record_many(items)
        figures["bytes_per_sample_with_frame"] = round((_size(db) - base) / SAMPLES, 1)
    figures["copy_over_reference"] = round(
        float(figures["copy_bytes_duckdb"]) / float(figures["bytes_per_sample"]), 1
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

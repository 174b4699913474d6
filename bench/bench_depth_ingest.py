"""Benchmark order-book ingest and the cob model; print ONE JSON line of figures.

- **ingest**: messages/s of ``ingest-depth`` over the real BTCUSDT recordings of 2024-08-08/09
  in ``../shared/data`` (read, rebuild the book, cut per-second snapshots, one DuckDB write),
  beside two floors over the same lines: reading and ``json.loads`` of every line (what any
  reader pays) and reading alone (gzip and line splitting). Best of 3 runs.
- **cob predict**: ms per ``predict`` of one sample with the default cob config (10 snapshots of
  20 levels, 60 1s + 30 1m candles), p50/p99 over 300 calls after warm-up, with torch on 1
  and on 2 threads, beside the ``imbalance`` baseline on the same inputs.

Usage: ``python bench/bench_depth_ingest.py``
"""

from __future__ import annotations

import gzip
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.ingest.depth_service import ingest_depth_files
from ghostcandle.models.base import Model, ModelInputs
from ghostcandle.models.depth_input import with_depth
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthStore

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILES = [
    DATA / f"binance-spot_BTCUSDT_ws-raw-depth100ms-trade_2024-08-0{d}_2024-08-0{d}.txt.gz"
    for d in (8, 9)
]
COLS = ["open", "high", "low", "close", "volume"]


def _best(fn: Any, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _read_only() -> None:
    for f in FILES:
        with gzip.open(f, "rt") as fh:
            for line in fh:
                line.partition(" ")


def _json_only() -> None:
    for f in FILES:
        with gzip.open(f, "rt") as fh:
            for line in fh:
                json.loads(line.partition(" ")[2])


def ingest_figures() -> dict[str, Any]:
    """Return messages/s of the ingest and of its floors."""
    lines = 0
    for f in FILES:
        with gzip.open(f, "rt") as fh:
            lines += sum(1 for _ in fh)
    with tempfile.TemporaryDirectory() as tmp:
        runs = iter(range(10))

        def ingest() -> None:
            with Database(Path(tmp) / f"d{next(runs)}.duckdb") as db:
                ingest_depth_files(DepthStore(db), FILES)

        took = _best(ingest)
    return {
        "messages": lines,
        "ingest_msgs_per_s": round(lines / took),
        "floor_json_msgs_per_s": round(lines / _best(_json_only)),
        "floor_read_msgs_per_s": round(lines / _best(_read_only)),
    }


def _inputs(model: Model) -> ModelInputs:
    s = synthetic_candles(200, "1s", start_ms=0, seed=1)[COLS].to_numpy()
    m = synthetic_candles(200, "1m", start_ms=0, seed=2)[COLS].to_numpy()
    inputs, _ = prepare_inputs([{"1s": s, "1m": m}], model.windows)
    rng = np.random.default_rng(0)
    books = np.zeros((1, 10, 20, 4))
    close = s[-1, 3]
    books[..., 0] = close - 0.01 * np.arange(1, 21)
    books[..., 2] = close + 0.01 * np.arange(1, 21)
    books[..., 1] = rng.lognormal(0, 1, (1, 10, 20))
    books[..., 3] = rng.lognormal(0, 1, (1, 10, 20))
    return with_depth(inputs, books)


def _ms(model: Model, inputs: ModelInputs, n: int = 300) -> dict[str, float]:
    for _ in range(20):
        model.predict(inputs)
    took = []
    for _ in range(n):
        t = time.perf_counter()
        model.predict(inputs)
        took.append(time.perf_counter() - t)
    a = np.array(took) * 1e3
    return {"p50_ms": round(float(np.percentile(a, 50)), 3),
            "p99_ms": round(float(np.percentile(a, 99)), 3)}  # fmt: skip


def predict_figures() -> dict[str, Any]:
    """Return cob and imbalance predict times for one sample."""
    cob = create_model("cob")
    imb = create_model("imbalance", timeframes=["1s", "1m"], windows={"1s": 60, "1m": 30})
    inputs = _inputs(cob)
    before = torch.get_num_threads()
    out: dict[str, Any] = {"cob_params": sum(p.numel() for p in cob.net.parameters())}  # type: ignore[attr-defined]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        out[f"cob_predict_{threads}t"] = _ms(cob, inputs)
    torch.set_num_threads(before)
    out["imbalance_predict"] = _ms(imb, inputs)
    return out


def main() -> None:
    """Print the figures as one JSON line."""
    print(json.dumps({"bench": "depth_ingest", **ingest_figures(), **predict_figures()}))


if __name__ == "__main__":
    main()

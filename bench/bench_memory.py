"""Benchmark memory over a long replay: RSS growth after warm-up, 1s candles, the default model.

Prints one JSON line. Data are SYNTHETIC (seeded) 1s candles rolled up to 1m, in a temporary
DuckDB file; the replay runs the default live model with its live config (``engine.live_setup``:
``excursion_mlp``, 1s and 1m windows) and the session's baselines, training ``none`` (the loop
without the trainer: the predictions, frames, resolutions, expiries and ledger writes of every
candle), ``flush_every`` as a replay.

RSS is sampled every ``--every`` events during the event loop (the summary's evaluation reads
the whole ledger after it, outside the figure). Warm-up is the first ``--warmup`` fraction of
the events (torch, DuckDB's caches and the window caches reach their size); the figure is
``growth_mb``: the highest RSS after warm-up minus the RSS at its end, beside the aim (20 MB) and
the floor: a bare ``predict`` loop of the same model over the same windows, run in the same
process before the replay (what the model itself allocates, normally 0).

Usage: ``python bench/bench_memory.py [--candles N] [--every K] [--warmup F]`` (default
1,000,000 candles: about 12 days of seconds, an hour at the ~260 events/s of the shared 2-core
machine; a short run: ``--candles 30000``, ~2 minutes). Before migration 24 DuckDB's own
accounting grew ~1.2 KB an event (the in-memory primary-key indexes of ``predictions`` and
``frames``, and table blocks cached without bound); the ledger has no key now and DuckDB's memory
is bounded (``store.db``: ``$GHOSTCANDLE_DB_MEMORY``, printed as ``duckdb_memory_limit``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import torch

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.domain.validation import validate_candles
from ghostcandle.engine.live_setup import DEFAULT_LIVE_CONFIG, DEFAULT_LIVE_MODEL
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database, memory_limit
from ghostcandle.store.rollups import rollup_range

T0 = 1_577_836_800_000  # 2020-01-01
SYMBOL = "MEM/USDT"
MB = 1024 * 1024
#: seconds of history before the replay: the 1m window (120) and a margin
HISTORY_S = 3 * 3600


def fill(db: Database, seconds: int) -> None:
    """Store ``seconds`` synthetic 1s candles from T0 and their 1m roll-up, in chunks."""
    store = CandleStore(db)
    chunk = 200_000
    for a in range(0, seconds, chunk):
        n = min(chunk, seconds - a)
        df = synthetic_candles(n, "1s", start_ms=T0 + a * 1000, seed=7 + a // chunk)
        with db.transaction() as con:
            store.write_in(
                con,
                SYMBOL,
                "1s",
                validate_candles(df, "1s").valid,
                source="synthetic",
                provenance=CandleSource.FILE,
            )
            rollup_range(store, con, SYMBOL, "1s", T0 + a * 1000, T0 + (a + n) * 1000 - 1)


def bare_predict_growth(model_name: str, config: dict[str, Any], calls: int) -> dict[str, Any]:
    """RSS growth of ``calls`` bare predicts of one frame (the floor), and their mean time."""
    model = create_model(model_name, **config)
    rng = np.random.default_rng(0)
    sample = {}
    for tf, n in model.windows.items():
        c = 100 + np.cumsum(rng.normal(0, 0.1, n))
        sample[tf] = np.column_stack([c, c + 0.1, c - 0.1, c, np.ones(n)])
    inputs, _ = prepare_inputs([sample], model.windows)
    proc = psutil.Process()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the session runs (``SessionConfig.torch_threads``)
    try:
        for _ in range(200):
            model.predict(inputs)
        before = proc.memory_info().rss
        t0 = time.perf_counter()
        for _ in range(calls):
            model.predict(inputs)
        ms = (time.perf_counter() - t0) / calls * 1000
    finally:
        torch.set_num_threads(threads)
    return {
        "bare_predict_ms": round(ms, 3),
        "bare_predict_growth_mb": round((proc.memory_info().rss - before) / MB, 1),
    }


def replay_rss(db: Database, candles: int, every: int, warmup: float) -> dict[str, Any]:
    """Replay ``candles`` seconds after the history; return the RSS figures."""
    proc = psutil.Process()
    cfg = SessionConfig(
        session_id="memory",
        model=DEFAULT_LIVE_MODEL,
        model_config={**dict(DEFAULT_LIVE_CONFIG), "seed": 1},
        symbols=(SYMBOL,),
        flush_every=1000,
    )
    at: list[int] = []
    rss: list[float] = []

    def on_event(n: int) -> None:
        if n % every == 0:
            at.append(n)
            rss.append(proc.memory_info().rss / MB)

    start = T0 + HISTORY_S * 1000
    end = start + candles * 1000
    t0 = time.perf_counter()
    s = run_replay(db, ReplayRequest(cfg, start, end, pivots=False), on_event=on_event)
    seconds = time.perf_counter() - t0
    events = int(s["events"])
    cut = next((i for i, n in enumerate(at) if n >= warmup * events), len(at) - 1)
    after = rss[cut:]
    half = len(after) // 2
    # MB per 100k events over the second half after warm-up (a leak keeps its slope)
    slope = (
        float(np.polyfit(np.array(at[cut + half :], dtype=float), after[half:], 1)[0]) * 100_000
        if len(after) - half >= 3
        else None
    )
    return {
        "events": events,
        "predictions": s["predictions"],
        "seconds": round(seconds, 1),
        "events_per_s": round(events / seconds, 1),
        "rss_first_mb": round(rss[0], 1),
        "rss_after_warmup_mb": round(rss[cut], 1),
        "rss_peak_mb": round(max(rss), 1),
        "rss_last_mb": round(rss[-1], 1),
        "growth_mb": round(max(after) - rss[cut], 1),
        "slope_mb_per_100k_events": None if slope is None else round(slope, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candles", type=int, default=1_000_000)
    ap.add_argument("--every", type=int, default=5000, help="sample RSS every K events")
    ap.add_argument("--warmup", type=float, default=0.1, help="fraction of events as warm-up")
    args = ap.parse_args()
    config = {**dict(DEFAULT_LIVE_CONFIG), "seed": 1}
    out: dict[str, Any] = {
        "bench": "memory",
        "data": "synthetic 1s",
        "model": f"{DEFAULT_LIVE_MODEL} (live config), mode none",
        "candles": args.candles,
    }
    floor = bare_predict_growth(DEFAULT_LIVE_MODEL, config, min(args.candles, 2000))
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "memory.duckdb")
        t0 = time.perf_counter()
        fill(db, HISTORY_S + args.candles + 2 * MINUTE_MS // 1000)
        out["fill_s"] = round(time.perf_counter() - t0, 1)
        out.update(replay_rss(db, args.candles, args.every, args.warmup))
        db.close()
    out.update(floor)
    out["aim_growth_mb"] = 20
    out["duckdb_memory_limit"] = memory_limit()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

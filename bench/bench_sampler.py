"""Benchmark replay sampling and outcome validation; print ONE JSON line of figures.

- **sample**: time to draw a batch of 32 (with importance weights) from 1,000,000 priorities
  through the sum-tree sampler (p50/p99 over many draws), beside two floors measured in the
  same run: numpy's ``rng.choice(n, 32, p=...)`` over the same probabilities (what one would
  write without a tree: O(n) per draw) and a uniform index draw (the least any sampler costs).
  Also the tree's build from 1M priorities and an update of 32 priorities.
- **validation**: outcomes/s of ``OutcomeValidator.run_due`` over a synthetic month of 1m
  candles in a real DuckDB file (40,000 pending outcomes, horizon 15, batches of 2,000), beside
  its floor (the candles read once and every outcome's next close and extremes computed in one
  numpy pass, no pending rows and no writes), and
  the rate of ``enqueue`` (pending rows written in one transaction).
- **live tick**: what outcome bookkeeping adds to a live tick: ``on_candle`` (one comparison,
  no I/O) plus building the pending row of one new sample (``pending_rows``), p50/p99 in us;
  writing the pending rows goes with the tick's other rows in the ledger writer's commit
  (``insert_pending_in`` of 1 and of 100 rows, ms, beside an empty transaction).

Usage: ``python bench/bench_sampler.py``
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ghostcandle.domain.actions import Action
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, MINUTE_MS
from ghostcandle.engine.samples.outcomes import OutcomeRequest, OutcomeValidator
from ghostcandle.engine.samples.sampler import ProportionalSampler
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

N = 1_000_000
K = 32
SYMBOL = "ETH/USDT"
#: candles an outcome looks ahead in the validation floor (the validator's default horizon)
FLOOR_HORIZON = 15
T0 = 1_722_000_000_000 - 1_722_000_000_000 % DAY_MS


def _us(samples: list[float]) -> dict[str, float]:
    a = np.array(samples) * 1e6
    return {"p50_us": round(float(np.percentile(a, 50)), 2),
            "p99_us": round(float(np.percentile(a, 99)), 2)}  # fmt: skip


def _timed(fn: Any, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench_sample() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    prio = rng.gamma(2.0, 1.0, N)
    t = time.perf_counter()
    sampler = ProportionalSampler(prio, alpha=0.6, seed=1)
    build_s = time.perf_counter() - t
    probs = sampler.probabilities()
    tree = _us(_timed(lambda: sampler.sample(K, 0.4), 5000))
    choice = _us(_timed(lambda: rng.choice(N, K, p=probs), 30))
    uniform = _us(_timed(lambda: rng.integers(0, N, K), 5000))
    idx = rng.integers(0, N, K)
    new = rng.gamma(2.0, 1.0, K)
    update = _us(_timed(lambda: sampler.update(idx, new), 200))
    return {
        "n": N,
        "batch": K,
        "build_ms": round(build_s * 1e3, 1),
        "sum_tree": tree,
        "numpy_choice": choice,
        "uniform_index": uniform,
        "update_32": update,
        "speedup_vs_choice_p50": round(choice["p50_us"] / tree["p50_us"], 1),
        "ratio_to_uniform_p50": round(tree["p50_us"] / uniform["p50_us"], 1),
    }


def bench_validation(path: Path) -> dict[str, Any]:
    days, n = 30, 40_000
    with Database(path) as db:
        df = synthetic_candles(days * 1440, "1m", start_ms=T0, seed=2)
        CandleStore(db).write(SYMBOL, "1m", df, provenance=CandleSource.FILE, source="bench")
        v = OutcomeValidator(db, clock=ReplayClock(T0))
        acts = [None, Action.BUY, Action.SELL]
        reqs = [
            OutcomeRequest(
                f"s{i}", SYMBOL, "1m", T0 + (30 + i) * MINUTE_MS, action_taken=acts[i % 3]
            )
            for i in range(n)
        ]
        t = time.perf_counter()
        v.enqueue(reqs)
        enqueue_s = time.perf_counter() - t
        now = T0 + days * DAY_MS
        report = v.run_due(now)
        assert report.validated == n, report
        # floor: the candles read once, every outcome's next close and extremes over its
        # horizon in one numpy pass (no pending rows, no writes)
        t = time.perf_counter()
        frame = CandleStore(db).read(SYMBOL, "1m", T0, now)
        hi, lo = frame["high"].to_numpy(), frame["low"].to_numpy()
        close = frame["close"].to_numpy()
        first = np.arange(30, 30 + n) + 1
        ahead_hi = sliding_window_view(hi, FLOOR_HORIZON)[first].max(axis=1)
        ahead_lo = sliding_window_view(lo, FLOOR_HORIZON)[first].min(axis=1)
        moves = close[first + FLOOR_HORIZON - 1] / close[first - 1] - 1.0
        assert len(ahead_hi) == len(ahead_lo) == len(moves) == n
        floor_s = time.perf_counter() - t
        # the live tick's share: on_candle and one pending row
        one = [OutcomeRequest("live", SYMBOL, "1m", now)]

        def live_tick() -> None:
            v.on_candle(now)
            v.pending_rows(one)

        tick = _us(_timed(live_tick, 20_000))
        fresh = iter(range(10**6))

        def commit(size: int) -> Any:
            # fresh sample ids each time: an insert of known ids would be a no-op
            reqs = [OutcomeRequest(f"t{next(fresh)}", SYMBOL, "1m", now) for _ in range(size)]
            rows = v.pending_rows(reqs)

            def run() -> None:
                with db.transaction() as con:
                    v.store.insert_pending_in(con, rows)

            return run

        empty = _us([_timed(commit(0), 1)[0] for _ in range(50)])
        c1 = _us([_timed(commit(1), 1)[0] for _ in range(50)])
        c100 = _us([_timed(commit(100), 1)[0] for _ in range(50)])
    return {
        "outcomes": n,
        "outcomes_per_s": round(n / report.duration_s),
        "floor_numpy_outcomes_per_s": round(n / floor_s),
        "outcomes_vs_floor": round(report.duration_s / floor_s, 1),
        "batches": report.batches,
        "enqueue_per_s": round(n / enqueue_s),
        "live_tick_added": tick,
        "pending_commit_ms": {
            "empty_txn_p50": round(empty["p50_us"] / 1e3, 2),
            "rows_1_p50": round(c1["p50_us"] / 1e3, 2),
            "rows_100_p50": round(c100["p50_us"] / 1e3, 2),
        },
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = {"bench": "sampler", "sample": bench_sample(),
               "validation": bench_validation(Path(tmp) / "bench.duckdb")}  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()

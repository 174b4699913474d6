"""The floors ``bench_loop.py`` prints beside its tick figures (imported by it, not a bench).

- ``floor_predict_tick``: the bare predict of a tick's models on prepared windows;
- ``window_read``: the window cache's append-and-read beside a numpy slice;
- ``busy_cores``: processes of bare training steps, one per trained model of the tick's
  sessions, at the background's lower priority. Idle ticks timed beside them show what a tick
  pays for cores busy with training when the training is *not* in its interpreter: the floor of
  the tick while training, whose own work (steps, batches, sample checks, checkpoints) runs on
  threads of the tick's process. Run as a script (``loop_floors.py burn MODEL``) it is one such
  process: it prints ``ready`` once stepping, and its step count when terminated.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from bench_models import TFS, synthetic_batch
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS, MINUTE_MS
from ghostcandle.engine.training.policy import DEFAULT_SCHEDULES
from ghostcandle.messaging.foreground import BACKGROUND_NICENESS
from ghostcandle.models import traced
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database

TIMEFRAMES = list(TFS)
#: a live session's 1s training batch
BURN_BATCH = DEFAULT_SCHEDULES["1s"].batch_size


def floor_predict_tick(
    start: int, symbols: Sequence[str], ticks: int, every_s: float
) -> dict[str, float]:
    """Time the bare transformer + cnn predict of one window per symbol: a tick's model work.

    One torch thread, as the sessions run (``SessionConfig.torch_threads``); no store, no
    ledger, inputs prepared once. Return wall and thread-CPU ms per plain tick, back to back
    (the mean of 20), and p50/p99 over the ``ticks`` ticks the loop's figures time from
    ``start``, started ``every_s`` apart as theirs are (what the machine alone does to a tick
    at that cadence: an idle core is slower to start than a busy one), each with the predicts
    the loop makes at it: a symbol's 1s candle every tick, and its 1m (1h, 1d) candle where one
    closes at the same instant (the ticks at a minute's close, twice the work, are the p99 of
    240).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    product = traced.enabled()  # the process's setting: the floor runs as the product does
    wall = cpu = eager = 0.0
    try:
        models, inputs = [], []
        for name in ("transformer", "cnn"):
            m = create_model(name, timeframes=TIMEFRAMES, seed=1)
            rng = np.random.default_rng(0)
            sample = {}
            for tf, n in m.windows.items():
                c = 100 + np.cumsum(rng.normal(0, 0.1, n))
                sample[tf] = np.column_stack([c, c + 0.1, c - 0.1, c, np.ones(n)])
            models.append(m)
            inputs.append(prepare_inputs([sample], m.windows)[0])
            m.predict(inputs[-1])
            for _ in range(3):  # traced (the product's predict) and eager, interleaved
                for as_eager in (False, True):
                    traced.set_enabled(product and not as_eager)
                    t0, c0 = time.perf_counter(), time.thread_time()
                    for _ in range(20):
                        m.predict(inputs[-1])
                    dt = (time.perf_counter() - t0) / 60 * 1000 * len(symbols)
                    if not as_eager:
                        wall += dt
                        cpu += (time.thread_time() - c0) / 60 * 1000 * len(symbols)
                    else:
                        eager += dt
            traced.set_enabled(product)
        times: list[float] = []
        began = time.perf_counter()
        for k in range(1, ticks + 1):
            t = start + k * 1000
            due = sum(t % d == 0 for d in (1000, MINUTE_MS, HOUR_MS, DAY_MS)) * len(symbols)
            rest = began + every_s - time.perf_counter()
            if rest > 0:
                time.sleep(rest)
            began = t0 = time.perf_counter()
            for m, x in zip(models, inputs, strict=True):
                for _ in range(due):
                    m.predict(x)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        torch.set_num_threads(threads)
        traced.set_enabled(product)
    return {
        "floor_predict_tick_ms": round(wall, 2),
        "floor_predict_tick_cpu_ms": round(cpu, 2),
        # the same predicts with every forward eager (``models.traced`` off), interleaved
        "floor_predict_tick_eager_ms": round(eager, 2),
        "floor_ticks_p50_ms": round(float(np.percentile(times, 50)), 2),
        "floor_ticks_p99_ms": round(float(np.percentile(times, 99)), 2),
    }


def window_read(db: Database, start: int, symbol: str) -> dict[str, float]:
    """Time a window cache read (600 x 1s) beside a numpy slice copy of the same rows."""
    from ghostcandle.domain.candles import candles_from_frame
    from ghostcandle.engine.loop.window_cache import open_cache
    from ghostcandle.store.candles import CandleStore

    cache = open_cache(CandleStore(db), [symbol], {"1s": 600}, start)
    later = CandleStore(db).read(symbol, "1s", start, start + 400_000)
    events = candles_from_frame(symbol, "1s", later)
    t0 = time.perf_counter()
    for c in events:  # one new candle, then the read: what each tick does
        cache.on_candle(c)
        cache.window(symbol, "1s", 600)
    read_us = (time.perf_counter() - t0) / len(events) * 1e6
    values = np.zeros((1200, 5))
    t0 = time.perf_counter()
    for i in range(len(events)):
        values[i % 600 : i % 600 + 600].copy()
    slice_us = (time.perf_counter() - t0) / len(events) * 1e6
    return {
        "append_and_read_us": round(read_us, 2),
        "numpy_slice_us": round(slice_us, 2),
        "ratio": round(read_us / slice_us, 1),
    }


@dataclass
class Burners:
    """The processes of ``busy_cores`` and, once they ended, the steps they made a second."""

    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    began: float = 0.0
    steps_per_s: float = 0.0


@contextmanager
def busy_cores(models: Sequence[str]) -> Iterator[Burners]:
    """Keep a process of bare training steps per name in ``models`` busy for the block."""
    out = Burners()
    try:
        for name in models:
            out.procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "burn", name],
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        for p in out.procs:  # each has built its model and batch and made a first step
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a training process ({p.args}) did not start")
        out.began = time.perf_counter()
        yield out
    finally:
        wall = time.perf_counter() - out.began
        steps = 0
        for p in out.procs:
            p.terminate()
            text, _ = p.communicate(timeout=30)
            steps += int(text.split()[-1]) if text.strip() else 0
        out.steps_per_s = round(steps / wall, 2) if out.began and wall > 0 else 0.0


def _burn(name: str) -> None:
    """Step ``name``'s model on one batch until terminated or orphaned; print the steps."""
    os.nice(BACKGROUND_NICENESS)  # as the trainer's threads run
    torch.set_num_threads(1)
    model = create_model(name, timeframes=TIMEFRAMES, seed=1)
    batch = synthetic_batch(model, BURN_BATCH)
    steps = 0

    def stop(*_: object) -> None:
        print(steps, flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    parent = os.getppid()
    model.train_step(batch)
    print("ready", flush=True)
    while os.getppid() == parent:  # a bench killed outright leaves no process stepping on
        model.train_step(batch)
        steps += 1


if __name__ == "__main__" and sys.argv[1:2] == ["burn"]:
    _burn(sys.argv[2])

"""Benchmark the loop: tick latency, replay throughput, memory over a long replay, frame bytes.

Prints one JSON line. Data are SYNTHETIC (seeded), in a temporary DuckDB file:

- tick latency: 2 symbols x 4 timeframes (1s, 1m, 1h, 1d), a transformer session and a CNN
  session (each with the default baselines) on one bus, sharing one ledger writer,
  ``flush_every=1`` (live). Two figures per tick, from publishing the first candle that closes
  at ``t``: ``ready`` when every due prediction is made, resolved and published (the handlers
  returned; the rows are handed to the writer), and ``stored`` when the writer has committed
  them (durable). Ticks start ``--tick-every-ms`` apart (default 250: live ticks are a second
  apart, and training works between them, yielding to a tick in flight; 0: each tick starts
  as soon as the one before is stored, back to back, so training always overlaps one). A
  tick's candles are published as one burst (``publish_many``), as the live candle builder
  queues a second's candles together. p50/p99 over the ticks, idle (mode ``none``) and while
  ``every_candle`` training runs on the trainer threads, with and without the sample and
  outcome bookkeeping (issue 12: each trained example recorded, verified and followed up);
  and idle beside one process of bare training steps per trained model, at the trainer's lower
  priority (``tick_idle_cores_busy``, ``loop_floors.busy_cores``): the cores as busy as
  training keeps them, the interpreter free, the floor of the tick while training (the
  ``*_ratio_cores_busy_vs_idle`` beside the ``*_ratio_training_vs_idle``).
  Windows are the models' defaults (600 x 1s, 64 of the others).
- replay throughput: candles/s of ``run_replay`` (1 symbol, 1m/1h/1d, CNN 1m=120, 1h=24, 1d=7),
  training off and ``every_candle``.
- memory: RSS start/peak/end across a long replay (persistence model, 1m/1h/1d), and the
  summary's peak (``summary_own_peak_mb``, Linux's VmHWM from the moment the loop's last
  writes are stored, ``run_replay``'s ``on_summary``) over the RSS then; the older figure
  ``summary_peak_growth_mb`` is the peak from the loop's last 10,000-event sample on (its
  tail and final flush included: ``loop_tail_peak_mb``) over that sample; the candle
  count is ``argv[1]`` (default 200,000; 1,000,000 takes 5-8 minutes); ``argv[2] = memory``
  runs only this part, ``argv[2] = tick`` only the tick latencies, ``replay`` only throughput.
- frames: bytes a stored frame reference takes against a copy of its windows.

Floors measured in the same run (``loop_floors.py``), beside the figures, and the ratios (the
figures that matter on a shared, noisy machine): ``floor_predict_tick_ms``, the bare ``predict``
of the same models (transformer + CNN, one thread as the sessions run) on one window per symbol,
i.e. a tick's model work (wall and thread-CPU time), back to back, small batches' forward traced
as the product runs it (``models.traced``), and ``floor_predict_tick_eager_ms`` the same with
every forward eager, interleaved with it (what tracing saves); ``floor_ticks_p50/p99_ms``, the
same predicts over the ticks the loop's figures time, at their cadence, each tick's as many as
the loop makes (a minute's close: its 1m candles too) (``ready_p99_over_floor_ticks``; before
2026-12-06 ``floor_paced_*`` timed plain ticks only, and only when paced: the machine alone is
slower to a tick that follows a rest); ``ready_p99_over_floor`` = ready p99 / floor (wall) and
``ready_cpu_over_floor`` = the bus thread's CPU per tick (p50) / the floor's CPU.
``window_read``: the window cache's read beside a numpy slice of the same rows.
``writer_cpu_ms_per_tick``: the ledger writer thread's CPU per tick. Options: ``--ticks``
(default 240) shortens the tick part; ``--device cuda`` (or ``auto``) runs the torch models, and
the floor's, on a GPU (exit 2 where there is none; the DQN agent and the baselines stay on the
CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from ghostcandle.cli.device_option import add_device_option
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS, MINUTE_MS
from ghostcandle.domain.validation import validate_candles
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.ledger_writer import LedgerWriter
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.models.device import use_device
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore, copy_bytes, stored_bytes
from ghostcandle.store.rollups import rollup_range
from loop_floors import busy_cores, floor_predict_tick, window_read

T0 = 1_577_836_800_000  # 2020-01-01
SYMBOLS = ("ETH/USDT", "BTC/USDT")
_ap = argparse.ArgumentParser(description="loop benchmark (see the module doc)")
_ap.add_argument("candles", nargs="?", type=int, default=200_000, help="memory replay length")
_ap.add_argument("part", nargs="?", default="all", choices=("all", "tick", "replay", "memory"))
_ap.add_argument("--ticks", type=int, default=240, help="seconds of ticks timed per figure")
_ap.add_argument(
    "--tick-every-ms",
    type=int,
    default=250,
    help="a tick starts this long after the one before (live: 1000; 0: back to back)",
)
add_device_option(_ap)
ARGS = _ap.parse_args()
try:
    DEVICE = use_device(ARGS.device)
except UserInputError as _exc:
    sys.stderr.write(f"bench_loop: error: {_exc}\n")
    sys.exit(2)
LONG = ARGS.candles
TICK_SECONDS = ARGS.ticks
TICK_EVERY_S = ARGS.tick_every_ms / 1000.0


def fill(db: Database, symbol: str, minutes: int, seed: int, seconds_from: int | None) -> None:
    """Store synthetic 1m candles rolled up to 1h/1d, and 1s candles from ``seconds_from``."""
    store = CandleStore(db)
    df = validate_candles(synthetic_candles(minutes, "1m", start_ms=T0, seed=seed), "1m").valid
    with db.transaction() as con:
        store.write_in(con, symbol, "1m", df, source="synthetic", provenance=CandleSource.FILE)
        rollup_range(store, con, symbol, "1m", T0, T0 + minutes * MINUTE_MS - 1)
        if seconds_from is not None:
            n = 3 * 3600
            s = synthetic_candles(n, "1s", start_ms=seconds_from - 2 * 3600_000, seed=seed + 1)
            store.write_in(
                con,
                symbol,
                "1s",
                validate_candles(s, "1s").valid,
                source="synthetic",
                provenance=CandleSource.FILE,
            )


def tick_latency(
    db: Database, start: int, mode: str, tag: str, *, samples: bool = True
) -> dict[str, Any]:
    """Publish every candle closing in the next TICK_SECONDS seconds; time each tick."""
    clock, bus = ReplayClock(start), MessageBus()
    writer = LedgerWriter(db)
    sessions = [
        LoopSession(
            db,
            SessionConfig(
                session_id=f"tick-{tag}-{model}",
                model=model,
                model_config={"timeframes": ["1s", "1m", "1h", "1d"], "seed": 1},
                symbols=SYMBOLS,
                mode=mode,
                flush_every=1,
                synchronous_training=False,
                record_samples=samples,
            ),
            bus,
            clock,
            checkpoint_dir=str(Path(db.path).parent / "ckpt"),
            writer=writer,
        ).start()
        for model in ("transformer", "cnn")
    ]
    events = list(
        replay_events(
            sessions[0].candles, SYMBOLS, ["1s", "1m", "1h", "1d"], start,
            start + TICK_SECONDS * 1000,
        )
    )  # fmt: skip
    by_time: dict[int, list[Any]] = {}
    for ev in events:
        by_time.setdefault(ev.time, []).append(ev)
    ready: list[float] = []
    stored: list[float] = []
    cpu: list[float] = []
    commits0, busy0, wcpu0 = writer.stats.commits, writer.stats.busy_ms, writer.stats.cpu_ms
    wall0 = time.perf_counter()
    began = time.perf_counter()
    for t, evs in sorted(by_time.items()):
        clock.advance_to(t)
        # ticks a cadence apart, as live (the trainer works between them); 0: back to back
        rest = began + TICK_EVERY_S - time.perf_counter()
        if rest > 0:
            time.sleep(rest)
        began = t0 = time.perf_counter()
        c0 = time.thread_time()
        # a second's candles reach the bus together, as the live candle builder queues them
        bus.publish_many((candle_topic(ev.symbol, ev.timeframe), ev) for ev in evs)
        ready.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        writer.wait()
        stored.append((time.perf_counter() - t0) * 1000)
    commits = writer.stats.commits - commits0
    busy = writer.stats.busy_ms - busy0
    wcpu = writer.stats.cpu_ms - wcpu0
    wall = time.perf_counter() - wall0
    yielded, yields = bus.foreground.yielded_s, bus.foreground.yields
    # steps applied while the ticks ran (stopping finishes the queued ones)
    steps_ticking = sum(s.status()["train_steps"] for s in sessions)
    steps = 0
    for s in sessions:
        s.stop()
        steps += s.status()["train_steps"]
    writer.close()
    a, b = np.array(ready), np.array(stored)
    return {
        "ticks": len(a),
        "ready_p50_ms": round(float(np.percentile(a, 50)), 2),
        "ready_p99_ms": round(float(np.percentile(a, 99)), 2),
        "stored_p50_ms": round(float(np.percentile(b, 50)), 2),
        "stored_p99_ms": round(float(np.percentile(b, 99)), 2),
        "stored_max_ms": round(float(b.max()), 2),
        # the bus thread's CPU per tick (the synchronous bus runs on this thread)
        "ready_cpu_p50_ms": round(float(np.percentile(cpu, 50)), 2),
        "ready_cpu_p99_ms": round(float(np.percentile(cpu, 99)), 2),
        "commits_per_tick": round(commits / len(a), 2),
        "ms_per_commit": round(busy / max(commits, 1), 2),
        "writer_cpu_ms_per_tick": round(wcpu / len(a), 2),
        "train_steps": steps,
        "train_steps_per_s": round(steps_ticking / wall, 2),
        # background work (training) waiting for ticks in flight
        "yielded_s": round(yielded, 2),
        "yields": yields,
    }


def throughput(db: Database, symbol: str, mode: str, hours: int, start: int) -> dict[str, Any]:
    """Replay ``hours`` of 1m/1h/1d with a small CNN; return candles/s."""
    cfg = SessionConfig(
        session_id=f"thr-{mode}",
        model="cnn",
        model_config={
            "timeframes": ["1m", "1h", "1d"],
            "windows": {"1m": 120, "1h": 24, "1d": 7},
            "seed": 1,
        },
        symbols=(symbol,),
        mode=mode,
        flush_every=500,
        synchronous_training=True,
    )
    s = run_replay(
        db,
        ReplayRequest(cfg, start, start + hours * HOUR_MS, pivots=False),
        checkpoint_dir=str(Path(db.path).parent / "ckpt"),
    )
    return {
        "candles": s["events"],
        "candles_per_s": s["candles_per_s"],
        "train_steps": s["train_steps"],
    }


def memory(db: Database, symbol: str, start: int, end: int) -> dict[str, Any]:
    """Replay a long range with the persistence model; sample RSS every 0.2 s."""
    proc = psutil.Process()
    samples: list[int] = [proc.memory_info().rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            samples.append(proc.memory_info().rss)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    cfg = SessionConfig(
        session_id="long",
        model="persistence",
        model_config={"timeframes": ["1m", "1h", "1d"], "windows": {"1m": 30, "1h": 24, "1d": 7}},
        symbols=(symbol,),
        baselines=(),
        flush_every=2000,
    )
    in_loop: list[int] = []

    def on_event(n: int) -> None:
        if n % 10_000 == 1:
            in_loop.append(proc.memory_info().rss)
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM: the peak from here on

    loop_end: list[float] = []  # the RSS, the peak since the last in-loop sample, the time

    def on_summary(n: int) -> None:
        loop_end.extend((proc.memory_info().rss, _vm_hwm(), time.perf_counter()))
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM: the summary's own from here

    t0 = time.perf_counter()
    s = run_replay(
        db,
        ReplayRequest(cfg, start, end, pivots=False),
        on_event=on_event,
        on_summary=on_summary,
    )
    stop.set()
    th.join()
    samples.append(proc.memory_info().rss)
    own_peak = _vm_hwm()
    summary_s = time.perf_counter() - loop_end[2]
    # from the last in-loop sample (<= 10,000 events before the end) on: the tail and summary
    summary_peak = max(loop_end[1], own_peak)
    mb = 1024 * 1024
    warm = len(in_loop) // 10
    return {
        "candles": s["events"],
        "seconds": round(time.perf_counter() - t0, 1),
        "candles_per_s": s["candles_per_s"],
        "rss_start_mb": round(samples[0] / mb, 1),
        "rss_peak_mb": round(max(*samples, summary_peak) / mb, 1),
        "rss_end_mb": round(samples[-1] / mb, 1),
        # during the event loop only (the summary's evaluation reads the whole ledger after it)
        "loop_rss_first_mb": round(in_loop[0] / mb, 1),
        "loop_rss_at_half_mb": round(in_loop[len(in_loop) // 2] / mb, 1),
        "loop_rss_last_mb": round(in_loop[-1] / mb, 1),
        "loop_rss_peak_mb": round(max(in_loop) / mb, 1),
        # issue 16's figure: growth after a warm-up of the first 10% of the events
        "loop_rss_after_warmup_mb": round(in_loop[warm] / mb, 1),
        "growth_after_warmup_mb": round((in_loop[-1] - in_loop[warm]) / mb, 1),
        "peak_growth_after_warmup_mb": round((max(in_loop[warm:]) - in_loop[warm]) / mb, 1),
        # the summary (the whole ledger evaluated) beside the RSS the loop ended at
        "summary_peak_growth_mb": round((summary_peak - in_loop[-1]) / mb, 1),
        "loop_end_rss_mb": round(loop_end[0] / mb, 1),
        "loop_tail_peak_mb": round(loop_end[1] / mb, 1),
        "summary_own_peak_mb": round((own_peak - loop_end[0]) / mb, 1),
        "summary_seconds": round(summary_s, 1),
    }


def _vm_hwm() -> int:
    """Return this process's peak RSS (Linux's VmHWM, since start or the last reset), bytes."""
    hwm = [ln for ln in Path("/proc/self/status").read_text().splitlines() if "VmHWM" in ln]
    return int(hwm[0].split()[1]) * 1024


def frame_bytes(db: Database) -> dict[str, Any]:
    """Average stored bytes per frame vs the bytes of a copy of its windows."""
    frames = FrameStore(db)
    sql = "SELECT frame_id FROM frames WHERE model = 'transformer' LIMIT 200"
    ids = [r[0] for r in db.con.execute(sql).fetchall()]
    stored, copied = [], []
    for fid in ids:
        ref = frames.get(str(fid))
        stored.append(stored_bytes(ref, frames.timeframe_of(str(fid))))
        copied.append(copy_bytes(frames.get_inference_data(ref)))
    return {
        "frames": len(ids),
        "stored_bytes_per_frame": round(float(np.mean(stored)), 1),
        "copy_bytes_per_frame": round(float(np.mean(copied)), 1),
        "ratio": round(float(np.mean(copied)) / float(np.mean(stored)), 1),
    }


def long_replay(tmp: str) -> dict[str, Any]:
    """Fill LONG minutes (+10 days of history) and measure memory across their replay."""
    long_db = Database(Path(tmp) / "long.duckdb")
    minutes = LONG + 10 * 1440
    fill(long_db, "LONG/USDT", minutes, seed=3, seconds_from=None)
    out = memory(long_db, "LONG/USDT", T0 + 10 * DAY_MS, T0 + minutes * MINUTE_MS)
    long_db.close()
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if ARGS.part == "memory":
            print(json.dumps({"data": "synthetic", "memory": long_replay(tmp)}))
            return
        db = Database(Path(tmp) / "bench.duckdb")
        days = 70
        tick_start = T0 + days * DAY_MS - 3 * HOUR_MS  # 1s data covers it, 600 s of history
        for i, sym in enumerate(SYMBOLS):
            fill(db, sym, days * 1440, seed=10 + i, seconds_from=tick_start)
        out: dict[str, Any] = {
            "data": "synthetic",
            "device": str(DEVICE),
            "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
            **floor_predict_tick(tick_start, SYMBOLS, TICK_SECONDS, TICK_EVERY_S),
        }
        part = ARGS.part
        if part in ("all", "tick"):
            out["window_read"] = window_read(db, tick_start, SYMBOLS[0])
            out["tick_idle"] = tick_latency(db, tick_start, "none", "idle")
            out["tick_training"] = tick_latency(db, tick_start + 600_000, "every_candle", "train")
            # the same training without sample and outcome bookkeeping: what it adds to a tick
            out["tick_training_no_samples"] = tick_latency(
                db, tick_start + 1_200_000, "every_candle", "train-nosamples", samples=False
            )
            # idle ticks beside processes of bare training steps (one per trained model): what
            # the cores busy with training cost a tick when training is not in its interpreter
            with busy_cores(("transformer", "cnn")) as burners:
                out["tick_idle_cores_busy"] = tick_latency(
                    db, tick_start + 1_800_000, "none", "busy"
                )
            out["tick_idle_cores_busy"]["burner_steps_per_s"] = burners.steps_per_s
            for fig in ("ready", "stored"):
                idle = out["tick_idle"][f"{fig}_p99_ms"]
                for key, name in (("training", "training"), ("idle_cores_busy", "cores_busy")):
                    out[f"tick_{fig}_p99_ratio_{name}_vs_idle"] = round(
                        out[f"tick_{key}"][f"{fig}_p99_ms"] / idle, 2
                    )
            floor, floor_cpu = out["floor_predict_tick_ms"], out["floor_predict_tick_cpu_ms"]
            for key in ("tick_idle", "tick_training"):
                fig = out[key]
                fig["ready_p99_over_floor"] = round(fig["ready_p99_ms"] / floor, 1)
                # beside the floor of the same ticks (their predicts, at their cadence)
                fig["ready_p99_over_floor_ticks"] = round(
                    fig["ready_p99_ms"] / out["floor_ticks_p99_ms"], 1
                )
                fig["stored_p99_over_floor"] = round(fig["stored_p99_ms"] / floor, 1)
                fig["ready_cpu_p50_over_floor"] = round(fig["ready_cpu_p50_ms"] / floor_cpu, 1)
            out["frame_bytes"] = frame_bytes(db)
        if part in ("all", "replay"):
            rstart = T0 + 10 * DAY_MS
            out["replay_none"] = throughput(db, SYMBOLS[0], "none", 24, rstart)
            out["replay_every_candle"] = throughput(db, SYMBOLS[0], "every_candle", 6, rstart)
        db.close()
        if part != "all":
            print(json.dumps(out))
            return
        long_db = Database(Path(tmp) / "long.duckdb")
        minutes = LONG + 10 * 1440
        fill(long_db, "LONG/USDT", minutes, seed=3, seconds_from=None)
        out["memory"] = memory(long_db, "LONG/USDT", T0 + 10 * DAY_MS, T0 + minutes * MINUTE_MS)
        long_db.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

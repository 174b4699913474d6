"""Memory of ``ghostcandle serve`` with a live session: RSS slope after warm-up.

Starts ``ghostcandle exchange-sim`` (SYNTHETIC market, ``--speed`` x real time) and two
``ghostcandle serve`` processes streaming from it on empty databases: one runs a live session
(started through the HTTP API as the page does), the other only the feed (the floor, measured in
the same run). Both processes' RSS is sampled every ``--every`` seconds for ``--minutes``; the
slope is a least-squares fit over the samples after ``--warmup-minutes``. RSS counts the pages of
the shared libraries (torch's code, touched a little more as new paths run) besides the heap, so
each process's anonymous memory (``RssAnon``: heaps, DuckDB's buffers) is sampled and fitted too,
and DuckDB's own memory (``/api/status`` ``database.bytes``: its block cache, tables not yet
checkpointed, indexes, undo buffers; bounded by ``$GHOSTCANDLE_DB_MEMORY``) beside it, so
``outside_duckdb_slope_mb_per_min`` (anonymous minus DuckDB's) is what the rest of the process adds.
DuckDB's eviction-queue nodes (``database.queue_nodes``: a block handle each, on the C++ heap, so
outside ``bytes``; a queue is purged at ~32k) are sampled too. Each slope is also fitted over the
last half of the samples after the warm-up (``*_late``): a bounded cache still filling shows as a
slope that falls, a leak as one that does not. Prints one JSON line.

    python bench/bench_serve_memory.py --minutes 30 --warmup-minutes 5
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]

MB = 1024 * 1024
HEADERS = {"X-Ghostcandle": "1"}  # what the page sends with a state-changing request


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ghostcandle.cli.main", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(
    tmp: Path, name: str, sim_url: str, intervals: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a workspace streaming from the simulator; return it once it answers."""
    port = _free_port()
    log = (tmp / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        _cli("serve", "--db", str(tmp / f"{name}.duckdb"), "--port", str(port),
             "--data-dir", str(tmp / f"{name}-cases"), "--exchange-url", sim_url, "--synthetic",
             "--symbols", "ETH/USDT", "--intervals", intervals),
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit((tmp / f"{name}.log").read_text()[-3000:])
        try:
            st = httpx.get(f"{url}/api/live-training/status", timeout=2).json()
            if (st.get("feed") or {}).get("connected"):
                return proc, url
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"{name}: serve did not connect to the simulator within 180 s")


def _anon(pid: int) -> int:
    """Return the process's resident anonymous memory in bytes (``RssAnon``, Linux)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def slope_mb_per_min(samples: list[tuple[float, int]]) -> float:
    """Return the least-squares slope of RSS (MB) over time (minutes)."""
    if len(samples) < 2:
        return 0.0
    xs = [t / 60.0 for t, _ in samples]
    ys = [r / MB for _, r in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def _db_memory(url: str) -> dict[str, Any]:
    """Return DuckDB's memory held by the serve at ``url`` (its ``/api/status``)."""
    return dict(httpx.get(f"{url}/api/status", timeout=60).json()["database"])


def _late(samples: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Return the samples of the last half of the time they span."""
    if not samples:
        return samples
    mid = (samples[0][0] + samples[-1][0]) / 2
    return [s for s in samples if s[0] >= mid]


def _summary(
    samples: list[tuple[float, int]],
    anon: list[tuple[float, int]],
    duck: list[tuple[float, int]],
    nodes: list[tuple[float, int]],
    warmup_s: float,
) -> dict[str, Any]:
    after = [s for s in samples if s[0] >= warmup_s]
    anon_after = [s for s in anon if s[0] >= warmup_s]
    duck_after = [s for s in duck if s[0] >= warmup_s]
    nodes_after = [s for s in nodes if s[0] >= warmup_s]
    outside = [(t, a - d) for (t, a), (_, d) in zip(anon_after, duck_after, strict=True)]
    return {
        "rss_start_mb": round(samples[0][1] / MB, 1),
        "rss_after_warmup_mb": round(after[0][1] / MB, 1) if after else None,
        "rss_end_mb": round(samples[-1][1] / MB, 1),
        "rss_max_mb": round(max(r for _, r in samples) / MB, 1),
        "slope_mb_per_min": round(slope_mb_per_min(after), 3),
        "samples_after_warmup": len(after),
        "anon_after_warmup_mb": round(anon_after[0][1] / MB, 1) if anon_after else None,
        "anon_end_mb": round(anon[-1][1] / MB, 1),
        "anon_slope_mb_per_min": round(slope_mb_per_min(anon_after), 3),
        "duckdb_after_warmup_mb": round(duck_after[0][1] / MB, 1) if duck_after else None,
        "duckdb_end_mb": round(duck[-1][1] / MB, 1),
        "duckdb_slope_mb_per_min": round(slope_mb_per_min(duck_after), 3),
        "outside_duckdb_slope_mb_per_min": round(slope_mb_per_min(outside), 3),
        "anon_slope_late_mb_per_min": round(slope_mb_per_min(_late(anon_after)), 3),
        "duckdb_slope_late_mb_per_min": round(slope_mb_per_min(_late(duck_after)), 3),
        "outside_duckdb_slope_late_mb_per_min": round(slope_mb_per_min(_late(outside)), 3),
        "queue_nodes_after_warmup": nodes_after[0][1] if nodes_after else None,
        "queue_nodes_end": nodes[-1][1],
        "queue_nodes_per_min": round(slope_mb_per_min(nodes_after) * MB, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--warmup-minutes", type=float, default=5.0)
    ap.add_argument("--speed", type=float, default=30.0)
    ap.add_argument("--every", type=float, default=5.0, help="seconds between RSS samples")
    ap.add_argument("--mode", default="every_candle", help="the live session's training mode")
    ap.add_argument("--intervals", default="1s,1m")
    ap.add_argument("--trace", help="write the serve's sample log (CSV) here")
    args = ap.parse_args()

    load_start = [round(x, 2) for x in os.getloadavg()]
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-mem-"))
    sim = subprocess.Popen(
        _cli("exchange-sim", "--json", "--speed", str(args.speed), "--symbols", "ETH/USDT",
             "--intervals", args.intervals, "--history-hours", "4", "--seed", "42"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    procs: list[subprocess.Popen[Any]] = [sim]
    try:
        assert sim.stdout is not None
        sim_url = json.loads(sim.stdout.readline())["rest_url"]
        live, live_url = _serve(tmp, "live", sim_url, args.intervals)
        procs.append(live)
        idle, idle_url = _serve(tmp, "idle", sim_url, args.intervals)
        procs.append(idle)
        r = httpx.post(
            f"{live_url}/api/live-training/start",
            json={"symbol": "ETH/USDT", "mode": args.mode},
            headers=HEADERS,
            timeout=120,
        )
        if r.status_code != 202:
            raise SystemExit(f"live start refused: {r.status_code} {r.text[:500]}")
        watched = {"live": psutil.Process(live.pid), "idle": psutil.Process(idle.pid)}
        series: dict[str, list[tuple[float, int]]] = {k: [] for k in watched}
        anon: dict[str, list[tuple[float, int]]] = {k: [] for k in watched}
        duck: dict[str, list[tuple[float, int]]] = {k: [] for k in watched}
        nodes: dict[str, list[tuple[float, int]]] = {k: [] for k in watched}
        limit = 0
        last: dict[str, dict[str, Any]] = {}
        each: list[list[int]] = []  # the live serve's nodes by eviction queue, each sample
        urls = {"live": live_url, "idle": idle_url}
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        while time.monotonic() < end:
            now = time.monotonic() - t0
            for name, p in watched.items():
                series[name].append((now, int(p.memory_info().rss)))
                anon[name].append((now, _anon(p.pid)))
                mem = _db_memory(urls[name])
                duck[name].append((now, mem["bytes"]))
                nodes[name].append((now, mem.get("queue_nodes", 0)))
                limit = mem["limit"]
                last[name] = mem
            each.append(list(last["live"].get("queue_nodes_each") or []))
            if live.poll() is not None or idle.poll() is not None:
                raise SystemExit("a serve process ended during the run")
            time.sleep(args.every)
        st = httpx.get(f"{live_url}/api/live-training/status", timeout=30).json()
        if args.trace:
            with open(args.trace, "w") as f:
                cols = ("rss", "anon", "duckdb")
                head = [f"{n}_{c}_mb" for c in cols for n in watched]
                queues = [f"live_queue_{q}_nodes" for q in range(len(each[0]))]
                f.write(",".join(["t_s", *head, *(f"{n}_queue_nodes" for n in watched), *queues]))
                f.write("\n")
                lists = [v[n] for v in (series, anon, duck) for n in watched]
                for i, (t, _) in enumerate(series["live"]):
                    mbs = [f"{v[i][1] / MB:.2f}" for v in lists]
                    counts = [str(nodes[n][i][1]) for n in watched] + [str(c) for c in each[i]]
                    f.write(",".join([f"{t:.1f}", *mbs, *counts]) + "\n")
        warm = args.warmup_minutes * 60
        live_s = _summary(series["live"], anon["live"], duck["live"], nodes["live"], warm)
        idle_s = _summary(series["idle"], anon["idle"], duck["idle"], nodes["idle"], warm)
        out = {
            "bench": "serve_memory",
            "minutes": args.minutes,
            "warmup_minutes": args.warmup_minutes,
            "speed": args.speed,
            "mode": args.mode,
            "intervals": args.intervals,
            "duckdb_limit_mb": round(limit / MB, 1),
            **live_s,
            "floor_idle_serve_slope_mb_per_min": idle_s["slope_mb_per_min"],
            "floor_idle_serve_rss_end_mb": idle_s["rss_end_mb"],
            "floor_idle_serve_anon_slope_mb_per_min": idle_s["anon_slope_mb_per_min"],
            "floor_idle_serve_anon_end_mb": idle_s["anon_end_mb"],
            "floor_idle_serve_duckdb_slope_mb_per_min": idle_s["duckdb_slope_mb_per_min"],
            "floor_idle_serve_duckdb_end_mb": idle_s["duckdb_end_mb"],
            "floor_idle_serve_outside_duckdb_slope_mb_per_min": idle_s[
                "outside_duckdb_slope_mb_per_min"
            ],
            "floor_idle_serve_outside_duckdb_slope_late_mb_per_min": idle_s[
                "outside_duckdb_slope_late_mb_per_min"
            ],
            "floor_idle_serve_queue_nodes_end": idle_s["queue_nodes_end"],
            "queue_nodes_each_end": last["live"].get("queue_nodes_each"),
            "cache_keeper": last["live"].get("cache_keeper"),
            "floor_idle_serve_cache_keeper": last["idle"].get("cache_keeper"),
            "session_state": st.get("state"),
            "predictions": (st.get("metrics") or {}).get("predictions"),
            "train_steps": (st.get("metrics") or {}).get("train_steps"),
            "candles_stored": (st.get("feed") or {}).get("candles_stored"),
            "cpus": os.cpu_count(),
            "load_avg_start": load_start,
            "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        }
        print(json.dumps(out), flush=True)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()

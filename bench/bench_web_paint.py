"""Workspace paint speed in Debian's Chromium: the first chart of 10,000 candles, and pushed
updates from the server to the screen.

Two real ``ghostcandle serve`` processes on 127.0.0.1, driven by Playwright as the browser
tests drive them (tests/browser/conftest.py):

- first paint: a database of 30 days of ETH/USDT 1m candles; the page opens with ``?bars=N``
  and the chart marks ``window.__gc_firstPaint`` (ms since navigation start) in the animation
  frame after it drew its data. Floor: the same page with an empty chart (no 1s candles).
- SSE to paint: the exchange simulator streams 1s/1m candles to a workspace running a live
  session; every pushed candle/forming event carries its publish time (the SSE ``id``), and
  the page records when it received it and the animation frame after the chart took it
  (``window.__gc_paints``). Floor: the raw EventSource receive time of the same events.

Prints one JSON line. Targets: first paint of 10,000 candles <= 1 s; SSE to paint p99 <= 100 ms.
``--updates N`` (default 200) sets how many chart updates are timed; ``--runs R`` (default 5)
how many page loads each first paint takes.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS
from ghostcandle.feeds.simulator.market import synthetic_market
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.rollups import rollup_range

START = 1_709_251_200_000
DAYS = 30
SYMBOL = "ETH/USDT"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
FIRST_PAINT_TARGET_MS = 1000.0
SSE_P99_TARGET_MS = 100.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(db_path: Path, *extra: str) -> Iterator[str]:
    """Run ``ghostcandle serve`` on ``db_path``; yield its URL once it answers."""
    port = _free_port()
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "serve", "--db", str(db_path)]
    cmd += ["--port", str(port), "--data-dir", str(db_path.parent / "tc"), *extra]
    log = (db_path.parent / "serve.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((db_path.parent / "serve.log").read_text()[-2000:])
            try:
                if httpx.get(f"{url}/api/status", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _seed(db_path: Path) -> None:
    with Database(db_path) as db:
        store = CandleStore(db)
        df = synthetic_candles(DAYS * 1440, "1m", start_ms=START, seed=5)
        with db.transaction() as con:
            store.write_in(con, SYMBOL, "1m", df, provenance=CandleSource.FILE)
            rollup_range(store, con, SYMBOL, "1m", START, START + DAYS * DAY_MS - 1)


def _first_paint(ctx: Any, url: str, runs: int) -> list[dict[str, float]]:
    """Open ``url`` ``runs`` times; return each load's first paint (ms, bars drawn)."""
    out = []
    for _ in range(runs):
        page = ctx.new_page()
        page.goto(url)
        page.wait_for_function("window.__gc_firstPaint", timeout=60_000)
        out.append(page.evaluate("window.__gc_firstPaint"))
        page.close()
    return out


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(xs), q)), 2)


def bench_first_paint(ctx: Any, tmp: Path, runs: int) -> dict[str, Any]:
    """First paint of 10,000 and 1,000 1m candles, and of an empty chart (the floor)."""
    db_path = tmp / "paint" / "bench.duckdb"
    db_path.parent.mkdir()
    _seed(db_path)
    with _serve(db_path) as url:
        _first_paint(ctx, f"{url}/?symbol={SYMBOL}&timeframe=1m", 1)  # warm the file cache
        figures: dict[str, Any] = {}
        for label, query in (
            ("empty", "timeframe=1s"),
            ("1000", "timeframe=1m"),
            ("10000", "timeframe=1m&bars=10000"),
        ):
            got = _first_paint(ctx, f"{url}/?symbol={SYMBOL}&{query}", runs)
            bars = {int(g["bars"]) for g in got}
            want = {"empty": 0, "1000": 1000, "10000": 10000}[label]
            assert bars == {want}, f"the {label} chart drew {bars} candles"
            ms = [float(g["ms"]) for g in got]
            figures[f"first_paint_{label}_ms_p50"] = round(statistics.median(ms), 1)
            figures[f"first_paint_{label}_ms_max"] = round(max(ms), 1)
    return figures


def bench_sse(ctx: Any, tmp: Path, updates: int) -> dict[str, Any]:
    """SSE-to-paint latency of ``updates`` chart updates pushed by a live workspace."""
    db_path = tmp / "sse" / "live.duckdb"
    db_path.parent.mkdir()
    market = synthetic_market(
        (SYMBOL,), ("1s", "1m"), start_ms=LiveClock().now_ms() - HOUR_MS, seed=3
    )
    with ExchangeSimulator(market, SimulatorConfig(seed=3)) as sim:
        args = ("--exchange-url", sim.rest_url, "--synthetic", "--intervals", "1s,1m")
        with _serve(db_path, *args, "--symbols", SYMBOL) as url:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/?symbol={SYMBOL}&timeframe=1s")
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            with httpx.Client(base_url=url, timeout=60, headers={"X-Ghostcandle": "1"}) as c:
                body = {"symbol": SYMBOL, "model": "transformer", "mode": "none"}
                r = c.post("/api/live-training/start", json=body)
                assert r.status_code == 202, r.text
                page.evaluate("window.__gc_paints.length = 0")
                page.wait_for_function(
                    f"window.__gc_paints.filter(p => p.shown).length >= {updates}",
                    timeout=120_000 + updates * 1500,  # 1s candles: about one a second
                    polling=500,
                )
                paints = page.evaluate("window.__gc_paints.filter(p => p.shown)")[:updates]
                assert not errors, f"the page raised: {errors}"
                c.post("/api/live-training/stop")
            page.close()
    to_paint = [p["painted"] - p["sent"] for p in paints]
    to_recv = [p["recv"] - p["sent"] for p in paints]
    recv_to_paint = [p["painted"] - p["recv"] for p in paints]
    return {
        "sse_updates": len(paints),
        "sse_candle_updates": sum(p["kind"] == "candle" for p in paints),
        "sse_to_paint_ms_p50": _pct(to_paint, 50),
        "sse_to_paint_ms_p99": _pct(to_paint, 99),
        "floor_sse_receive_ms_p50": _pct(to_recv, 50),
        "floor_sse_receive_ms_p99": _pct(to_recv, 99),
        "receive_to_paint_ms_p50": _pct(recv_to_paint, 50),
        "receive_to_paint_ms_p99": _pct(recv_to_paint, 99),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench-web-paint-"))
    load0 = round(os.getloadavg()[0], 1)  # the figures are wall-clock: tell how busy it was
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 820},
        )
        try:
            paint = bench_first_paint(ctx, tmp, args.runs)
            sse = bench_sse(ctx, tmp, args.updates)
        finally:
            ctx.close()
    print(
        json.dumps(
            {
                "bench": "web_paint",
                **paint,
                "first_paint_10000_target_ms": FIRST_PAINT_TARGET_MS,
                **sse,
                "sse_to_paint_p99_target_ms": SSE_P99_TARGET_MS,
                "cpus": os.cpu_count(),
                "load_avg_1m_start_end": [load0, round(os.getloadavg()[0], 1)],
            }
        )
    )


if __name__ == "__main__":
    main()

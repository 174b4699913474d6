"""Benchmark the live feed against the simulator; print ONE JSON line of figures.

50 symbols x 4 intervals (1s, 1m, 1h, 1d) stream from the exchange simulator (its own process)
over a real loopback WebSocket into a real DuckDB file, with a threaded bus (the live set-up).

- ingest lag from receipt of a closed-candle message to its candle stored and its
  ``CandleCompletionEvent`` published (builder clock), p50/p99/max in ms;
- end-to-end lag from the simulator's event time ``E`` to delivery to a bus subscriber (speed 1,
  where simulated time is wall time), p50/p99 in ms;
- the same at 10x speed (10 closes per symbol per second: 500 closed candles a second);
- the live local book (``--depth diff``): diffs applied per second (parse + sequence check +
  apply, ``LiveBooks.diff``) on the simulator's diff stream, beside its floor (``json.loads`` of
  the same frames alone) and the wire parse alone;
- the ingest lag's floor, in the same run: a closed kline message's ``json.loads`` and one row
  inserted into a plain table in its own transaction (no validation, key or bus), per candle,
  and each speed's ``ingest_lag_vs_floor_p50``;
- baseline in the same run: storing 50 closed candles of 50 series one ``CandleStore.write`` each
  against the feed's batched ``write_closed``, and the ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.events import CandleCompletionEvent
from ghostcandle.feeds.backfill import candles_frame
from ghostcandle.feeds.binance_format import DepthDiff, parse_depth, parse_message
from ghostcandle.feeds.candle_writer import write_closed
from ghostcandle.feeds.config import FeedConfig
from ghostcandle.feeds.live_feed import LiveFeed
from ghostcandle.feeds.local_book import LiveBooks
from ghostcandle.feeds.simulator.book import SimBook
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOLS = tuple(f"S{i:02d}/USDT" for i in range(50))
INTERVALS = ("1s", "1m", "1h", "1d")


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else float("nan")


def run_stream(speed: float, seconds: float, tmp: Path) -> dict[str, float]:
    """Stream for ``seconds`` at ``speed``; return lag percentiles."""
    # the exchange runs in its own process, as a real one would (no shared interpreter lock)
    sim = subprocess.Popen(
        [sys.executable, "-m", "ghostcandle.cli.main", "exchange-sim", "--json",
         "--symbols", ",".join(SYMBOLS), "--intervals", ",".join(INTERVALS),
         "--speed", str(speed), "--history-hours", "0.05", "--seed", "11"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert sim.stdout is not None
    urls = json.loads(sim.stdout.readline())
    db = Database(tmp / f"bench_{speed:g}.duckdb")
    bus = MessageBus(threaded=True)
    e2e: list[float] = []
    lock = threading.Lock()

    def on_candle(event: CandleCompletionEvent) -> None:
        with lock:
            e2e.append(time.time_ns() / 1e6 - (event.candle.close_time))

    bus.subscribe("candles.*", on_candle)
    config = FeedConfig(
        symbols=SYMBOLS,
        intervals=INTERVALS,
        rest_url=urls["rest_url"],
        ws_url=urls["ws_url"],
        depth=False,
        history_candles=0,
        seed=1,
    )
    feed = LiveFeed(db, bus, config).start()
    feed.wait_started(60)
    time.sleep(2.0)  # let the first connection and its catch-up settle
    feed.builder.lags_ms.clear()
    with lock:
        e2e.clear()
    time.sleep(seconds)
    lags = list(feed.builder.lags_ms)
    with lock:
        e2e_copy = list(e2e)
    feed.stop()
    bus.drain(10)
    bus.close()
    health = feed.status()
    sim.terminate()
    sim.wait(timeout=20)
    db.close()
    out = {
        "closed_candles": len(lags),
        "ingest_lag_p50_ms": _pct(lags, 50),
        "ingest_lag_p99_ms": _pct(lags, 99),
        "ingest_lag_max_ms": round(max(lags), 2) if lags else float("nan"),
        "messages": health.counters.get("messages", 0),
        "reconnects": health.reconnects,
    }
    if speed == 1.0:
        # close_time is simulated == wall time at speed 1: close -> subscriber, all included
        out["close_to_subscriber_p50_ms"] = _pct(e2e_copy, 50)
        out["close_to_subscriber_p99_ms"] = _pct(e2e_copy, 99)
    return out


def ingest_floor(tmp: Path, n: int = 300) -> dict[str, float]:
    """Time the least a closed candle costs from receipt to durable: parse it, store one row.

    ``json.loads`` of a closed kline message and one row inserted into a plain table in its
    own transaction (no validation, no key, no bus), per candle, p50/p99 in ms.
    """
    db = Database(tmp / "floor.duckdb")
    db.con.execute("CREATE TABLE floor_candles (s VARCHAR, t BIGINT, o DOUBLE, h DOUBLE, "
                   "l DOUBLE, c DOUBLE, v DOUBLE)")  # fmt: skip
    out: list[float] = []
    for i in range(n):
        frame = json.dumps({"stream": "s00usdt@kline_1s", "data": {
            "e": "kline", "E": 1_700_000_001_000 + i * 1000, "s": "S00USDT",
            "k": {"t": 1_700_000_000_000 + i * 1000, "T": 1_700_000_000_999 + i * 1000,
                  "s": "S00USDT", "i": "1s", "o": "10.0", "c": "10.5", "h": "11.0",
                  "l": "9.0", "v": "1.0", "x": True}}})  # fmt: skip
        t0 = time.perf_counter()
        k = json.loads(frame)["data"]["k"]
        with db.transaction() as con:
            con.execute(
                "INSERT INTO floor_candles VALUES (?, ?, ?, ?, ?, ?, ?)",
                [k["s"], k["t"], float(k["o"]), float(k["h"]), float(k["l"]), float(k["c"]),
                 float(k["v"])],
            )  # fmt: skip
        out.append((time.perf_counter() - t0) * 1000)
    db.close()
    return {
        "floor_parse_and_store_p50_ms": _pct(out, 50),
        "floor_parse_and_store_p99_ms": _pct(out, 99),
    }


def write_baseline(tmp: Path, rounds: int = 10) -> dict[str, float]:
    """Time 50 series' closed candles stored one write each vs one batched write."""
    db = Database(tmp / "baseline.duckdb")
    store = CandleStore(db)
    single: list[float] = []
    batched: list[float] = []
    for r in range(rounds):
        t = 1_700_000_000_000 + r * 1000
        batch = [Candle(s, "1s", t, 10.0, 11.0, 9.0, 10.5, 1.0) for s in SYMBOLS]
        t0 = time.perf_counter()
        for c in batch:
            store.write(
                c.symbol, "1s", candles_frame([c]), source="bench", provenance=CandleSource.FILE
            )
        single.append((time.perf_counter() - t0) * 1000)
        tm = 1_700_000_040_000 + r * 60_000
        batch2 = [Candle(s, "1m", tm, 10.0, 11.0, 9.0, 10.5, 1.0) for s in SYMBOLS]
        newest = {(s, "1m"): tm - 60_000 for s in SYMBOLS}
        t0 = time.perf_counter()
        write_closed(store, batch2, source="bench", newest=newest, provenance=CandleSource.FILE)
        batched.append((time.perf_counter() - t0) * 1000)
    db.close()
    p50_single, p50_batched = _pct(single, 50), _pct(batched, 50)
    return {
        "store_50_one_by_one_p50_ms": p50_single,
        "store_50_batched_p50_ms": p50_batched,
        "batched_speedup": round(p50_single / p50_batched, 1),
    }


def diff_apply(n: int = 20_000, rounds: int = 5) -> dict[str, float]:
    """Time the live local book on ``n`` diff frames of the simulator's book (best of rounds)."""
    book = SimBook("ETH/USDT", seed=3)
    mid = 3000.0
    rng = np.random.default_rng(3)
    book.step(mid, 0)
    snap = parse_depth("ETH/USDT", book.snapshot(1000), levels=None)
    frames = []
    levels = 0
    for i in range(n):
        mid *= 1 + float(rng.normal(0, 2e-5))
        data = book.step(mid, (i + 1) * 100)
        levels += len(data["b"]) + len(data["a"])
        frames.append(json.dumps({"stream": "ethusdt@depth@100ms", "data": data}))

    def rate(work: Callable[[], None]) -> float:
        best = min(_timed(work) for _ in range(rounds))
        return round(n / best)

    def apply() -> None:
        books = LiveBooks(["ETH/USDT"])
        first = parse_message(frames[0])
        assert isinstance(first, DepthDiff)
        books.diff("ETH/USDT", first.diff)
        books.snapshot("ETH/USDT", snap)
        for f in frames[1:]:
            msg = parse_message(f)
            assert isinstance(msg, DepthDiff)
            books.diff(msg.symbol, msg.diff)
        assert books.counters()["book_gaps"] == 0

    return {
        "diffs": n,
        "levels_per_diff": round(levels / n, 1),  # both sides
        "diff_apply_msgs_per_s": rate(apply),
        "parse_only_msgs_per_s": rate(lambda: _each(parse_message, frames)),
        "floor_json_loads_msgs_per_s": rate(lambda: _each(json.loads, frames)),
    }


def _each(fn: Callable[[str], object], items: list[str]) -> None:
    for x in items:
        fn(x)


def _timed(work: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    work()
    return time.perf_counter() - t0


def main() -> None:
    """Run every scenario and print one JSON line."""
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        figures: dict[str, object] = {
            "bench": "feeds",
            "symbols": len(SYMBOLS),
            "intervals": list(INTERVALS),
        }
        figures["speed_1"] = run_stream(1.0, 20.0, tmp)
        figures["speed_10"] = run_stream(10.0, 10.0, tmp)
        floor = ingest_floor(tmp)
        figures["ingest_floor"] = floor
        for key in ("speed_1", "speed_10"):
            run = figures[key]
            assert isinstance(run, dict)
            run["ingest_lag_vs_floor_p50"] = round(
                run["ingest_lag_p50_ms"] / floor["floor_parse_and_store_p50_ms"], 1
            )
        figures.update(write_baseline(tmp))
        figures["local_book"] = diff_apply()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

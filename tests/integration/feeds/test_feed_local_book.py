"""The live local book (``depth_mode="diff"``) against the simulator over a real loopback socket.

The simulator holds one book per symbol and remembers its top 20 levels after every update id;
every snapshot the feed stores must be exactly that book at its ``last_update_id``. Gaps and
crossed books are injected on purpose: resynchronised or rejected, counted, never a crash.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx

from ghostcandle.cli.main import main
from ghostcandle.domain.order_book import book_problem
from ghostcandle.feeds.config import FeedConfig
from ghostcandle.feeds.live_feed import LiveFeed
from ghostcandle.feeds.simulator.faults import Faults
from ghostcandle.feeds.simulator.server import ExchangeSimulator
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthSnapshot, DepthStore


def _assert_books_equal_simulator(db: Database, sim: ExchangeSimulator) -> list[DepthSnapshot]:
    """Every stored book is the simulator's book at its update id, known by its label time."""
    stored: list[DepthSnapshot] = []
    for symbol in sim.market.symbols:
        snaps = DepthStore(db).read(symbol)
        assert len(snaps) >= 2, f"too few books stored for {symbol}"
        times = [s.time for s in snaps]
        assert times == sorted(set(times))
        assert all(t % 1000 == 0 for t in times)
        for s in snaps:
            truth = sim.depth.top_at(symbol, s.last_update_id)
            assert truth is not None, f"{symbol} {s.last_update_id}: not a book the simulator held"
            assert (s.bids, s.asks) == truth, f"{symbol} at {s.time}: the local book differs"
            assert s.known_levels == 2 * sim.depth.book_of(symbol).levels
        stored += snaps
    return stored


def _run(db: Database, sim: ExchangeSimulator, seconds: float, during=None, until=None) -> LiveFeed:
    """Run a feed for ``seconds``, then, if ``until`` is given, until it holds (15 s at most:
    a loaded machine makes fewer updates a second, the test's assertions stay as they are)."""
    config = FeedConfig(
        symbols=sim.market.symbols,
        intervals=("1s",),
        rest_url=sim.rest_url,
        ws_url=sim.ws_url,
        depth_mode="diff",
        history_candles=0,
        seed=1,
        reconnect_min_s=0.1,
        reconnect_max_s=0.5,
    )
    feed = LiveFeed(db, MessageBus(), config).start()
    assert feed.wait_started(20)
    if during is not None:
        during(feed)
    time.sleep(seconds)
    end = time.monotonic() + 15.0
    while until is not None and not until(feed) and time.monotonic() < end:
        time.sleep(0.1)
    assert feed.alive, f"the feed died: {feed.last_error}"
    feed.stop()
    return feed


def _wait_synced(feed: LiveFeed, n: int, timeout_s: float = 10.0) -> None:
    assert feed.books is not None
    end = time.monotonic() + timeout_s
    while len(feed.books.synced()) < n:
        assert time.monotonic() < end, "the local books never synced"
        time.sleep(0.05)


def test_local_book_equals_the_simulators_book_at_every_stored_second(make_sim, db: Database):
    sim = make_sim(speed=1.0)  # simulated time is wall time: event times compare with labels
    feed = _run(db, sim, 3.5)
    stored = _assert_books_equal_simulator(db, sim)
    for s in stored:  # labelled with the end of the second it was taken in: known by then
        made = sim.depth.books[s.symbol].made_at(s.last_update_id)
        assert made is not None
        assert made <= s.time
    c = feed.status().counters
    assert c["book_gaps"] == 0
    assert c["book_resyncs"] == 0
    assert c["depth_rejected"] == 0
    assert c["book_snapshots"] == len(sim.market.symbols)
    assert c["book_applied"] > 0
    assert c["depth_snapshots"] == len(stored)
    assert sim.stats.rest_requests >= len(sim.market.symbols)


def test_diffs_buffered_while_the_snapshot_travels_are_replayed_on_it(make_sim, db: Database):
    sim = make_sim(Faults(rest_depth_delay_ms=450))  # ~4 diffs newer than the snapshot each
    feed = _run(db, sim, 3.0)
    _assert_books_equal_simulator(db, sim)
    c = feed.status().counters
    assert c["book_gaps"] == 0
    # the buffered diffs the snapshot did not hold yet were applied on it
    assert c["book_replayed"] > 0
    assert c["book_snapshots"] == len(sim.market.symbols)


def test_an_injected_gap_is_resynchronised_and_counted(make_sim, db: Database):
    sim = make_sim()

    def inject(feed: LiveFeed) -> None:
        _wait_synced(feed, 2)
        sim.depth.inject_gap("ETH/USDT")

    feed = _run(db, sim, 3.0, during=inject)
    _assert_books_equal_simulator(db, sim)
    c = feed.status().counters
    assert sim.depth.stats["gaps"] == 1
    assert c["book_gaps"] == 1
    assert c["book_resyncs"] == 1
    assert c["book_snapshots"] == len(sim.market.symbols) + 1
    assert c["connections"] == 1, "a gap must not cost the connection"
    assert c["book_synced"] == 2, "the book did not come back after the gap"


def test_gaps_every_few_diffs_keep_the_stored_books_true(make_sim, db: Database):
    sim = make_sim(Faults(depth_gap_every=12))
    feed = _run(db, sim, 4.0)
    _assert_books_equal_simulator(db, sim)
    c = feed.status().counters
    assert c["book_gaps"] >= 2
    assert c["book_resyncs"] >= c["book_gaps"]
    assert c["connections"] == 1


def test_a_crossed_book_is_rejected_with_its_reason(make_sim, db: Database):
    sim = make_sim(Faults(crossed_book_every=25, crossed_book_for=15))
    feed = _run(
        db, sim, 5.0,
        until=lambda f: sim.depth.stats["crossed"] >= 2
        and f.status().counters["depth_rejected_crossed"] >= 1,
    )  # fmt: skip
    stored = _assert_books_equal_simulator(db, sim)
    assert all(book_problem(s.bids, s.asks) is None for s in stored)
    c = feed.status().counters
    assert sim.depth.stats["crossed"] >= 2
    assert c["depth_rejected_crossed"] >= 1
    assert c["depth_rejected"] == c["depth_rejected_crossed"]


def test_live_depth_diff_then_status_shows_the_book_counters(make_sim, tmp_path, capsys):
    sim = make_sim(Faults(depth_gap_every=10))
    db_path = tmp_path / "live.duckdb"
    rc = main(
        [
            "live", "--rest-url", sim.rest_url, "--ws-url", sim.ws_url, "--db", str(db_path),
            "--symbols", "ETH/USDT,BTC/USDT", "--intervals", "1s", "--duration", "3",
            "--history", "0", "--quiet", "--depth", "diff",
        ]
    )  # fmt: skip
    assert rc == 0
    assert "local book:" in capsys.readouterr().out
    assert main(["status", "--db", str(db_path), "--json"]) == 0
    (feed,) = json.loads(capsys.readouterr().out)["feeds"]
    assert feed["counters"]["book_gaps"] >= 1
    assert feed["counters"]["book_resyncs"] >= feed["counters"]["book_gaps"]
    assert main(["status", "--db", str(db_path)]) == 0
    assert "gaps" in capsys.readouterr().out.split("local book:")[1]
    with Database(db_path) as db:
        _assert_books_equal_simulator(db, sim)


def test_serve_with_depth_diff_shows_the_book_counters_in_the_feed_status_api(make_sim, tmp_path):
    sim = make_sim(Faults(depth_gap_every=10), symbols=("ETH/USDT",))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [
        sys.executable, "-m", "ghostcandle.cli.main", "serve", "--db", str(tmp_path / "s.duckdb"),
        "--port", str(port), "--exchange-url", sim.rest_url, "--synthetic", "--symbols",
        "ETH/USDT", "--intervals", "1s", "--depth", "diff",
    ]  # fmt: skip
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        counters: dict[str, int] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and counters.get("book_gaps", 0) < 1:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/live-training/status", timeout=2)
                counters = (r.json().get("feed") or {}).get("counters", {})
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert counters.get("book_gaps", 0) >= 1, counters
        assert counters["book_snapshots"] >= 2
        assert counters["depth_snapshots"] >= 1
    finally:
        proc.terminate()
        proc.wait(20)

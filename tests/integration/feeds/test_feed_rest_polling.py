"""WebSocket down, REST up: the feed polls closed candles over REST so the store keeps moving.

Against the simulator refusing every WebSocket handshake (REST still answering), the stored
series must keep up with the exchange's clock, equal its record, and the candle-close events
come in order, once each; the health says "stream down, polling". When nothing answers at all,
``live`` gives up within its retry budget with one line and a non-zero exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from ghostcandle.domain.events import CandleCompletionEvent
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.feeds.live_feed import LiveFeed
from ghostcandle.feeds.simulator.faults import Faults
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

from .conftest import feed_config

RUN_S = 4.0


def test_stream_down_rest_up_keeps_the_store_and_events_moving(
    make_sim, assert_matches_simulator, db: Database
):
    sim = make_sim(Faults(ws_down=True))  # 20x: 4 s of wall time is 80 s of candles
    began = sim.sim_now()
    bus = MessageBus()
    events: list[CandleCompletionEvent] = []
    bus.subscribe("candles.*", events.append)
    config = feed_config(sim, poll_every_s=0.2, reconnect_max_s=0.5)
    feed = LiveFeed(db, bus, config).start()
    try:
        assert feed.wait_started(20)
        time.sleep(RUN_S)
        h = feed.status().to_json()
    finally:
        feed.stop()
    now = sim.sim_now()
    store = CandleStore(db)
    for symbol in sim.market.symbols:
        rows = store.read_rows(symbol, "1s", began, now)
        # polled every 0.2 s of wall time (4 s of market time); read after the feed stopped
        assert len(rows.open_time) > 0, f"nothing polled for {symbol}"
        assert int(rows.open_time[-1]) >= now - 12 * duration_ms("1s"), (
            f"{symbol} 1s stopped {(now - int(rows.open_time[-1])) / 1000:.0f} s behind"
        )
        assert set(rows.provenance) == {"rest_backfill"}
    assert_matches_simulator(db, sim, events)
    fresh = [e for e in events if e.candle.open_time >= began]
    assert len(fresh) >= 2 * 40, "the loop did not get the polled candles as events"
    assert h["state"] == "stream down, polling"
    assert h["counters"]["polls"] > 0
    assert sim.stats.ws_refused > 0


def test_live_exits_non_zero_in_one_line_when_nothing_answers(make_sim, tmp_path: Path):
    sim = make_sim(speed=5.0)
    db_path = tmp_path / "gone.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ghostcandle.cli.main", "live", "--rest-url", sim.rest_url,
         "--ws-url", sim.ws_url, "--db", str(db_path), "--intervals", "1s", "--no-depth",
         "--history", "5", "--quiet", "--duration", "60", "--give-up-after", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        side = Path(str(db_path) + ".feed-status.json")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if side.is_file() and json.loads(side.read_text())["candles_stored"] > 0:
                break
            time.sleep(0.1)
        sim.stop()  # the exchange is gone: neither the stream nor REST answers
        gone = time.monotonic()
        _, err = proc.communicate(timeout=20)
        took = time.monotonic() - gone
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=20)
    assert proc.returncode not in (0, None), err
    assert took < 10, f"took {took:.1f} s to give up"
    last = [ln for ln in err.splitlines() if ln.startswith("ghostcandle live: error:")]
    assert len(last) == 1, err
    assert "Traceback" not in err
    assert "answered for 2 s" in last[0], last[0]

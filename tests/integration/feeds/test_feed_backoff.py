"""Reconnect back-off against a link that drops every fraction of a second (real loopback WS).

Each wait stays within the cap, a connection that delivered data resets the back-off (so a
flaky link costs little waiting), and the health says how long the stream has been down.
"""

from __future__ import annotations

import logging
import re
import time

import pytest

from ghostcandle.feeds.live_feed import LiveFeed
from ghostcandle.feeds.simulator.faults import Faults
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database

from .conftest import feed_config

_WAIT = re.compile(r"reconnecting in ([0-9.]+) s")
RUN_S = 5.0
CAP_S = 0.4


def test_waits_stay_within_the_cap_and_reset_after_data(
    make_sim, run_feed, assert_matches_simulator, db: Database, caplog: pytest.LogCaptureFixture
):
    sim = make_sim(Faults(drop_every_s=0.5))
    caplog.set_level(logging.INFO, logger="ghostcandle.feeds")
    feed, events = run_feed(db, sim, RUN_S, reconnect_min_s=0.05, reconnect_max_s=CAP_S)
    waits = [float(m.group(1)) for r in caplog.records if (m := _WAIT.search(r.getMessage()))]
    assert len(waits) >= 4, f"the link did not drop often enough: {sim.stats}"
    assert max(waits) <= CAP_S, f"a jittered wait passed the {CAP_S} s cap: {waits}"
    # every connection delivered candles, so none of them grew the back-off
    assert sum(waits) <= 0.1 * RUN_S, f"waited {sum(waits):.2f} of {RUN_S} s: {waits}"
    assert_matches_simulator(db, sim, events)
    h = feed.status().to_json()
    assert h["counters"]["backoff_waited_ms"] == pytest.approx(sum(waits) * 1000, abs=50)


def test_status_says_how_long_the_stream_has_been_down(make_sim, db: Database):
    sim = make_sim(Faults(ws_down=True))
    feed = LiveFeed(
        db, MessageBus(), feed_config(sim, reconnect_min_s=0.3, reconnect_max_s=0.6)
    ).start()
    try:
        assert feed.wait_started(20)
        time.sleep(1.5)
        h = feed.status().to_json()
    finally:
        feed.stop()
    assert h["connected"] is False
    assert 1000 <= h["down_for_ms"] <= 3000, h
    assert h["down_since"] is not None
    assert h["retry_in_ms"] is None or 0 <= h["retry_in_ms"] <= 600
    assert h["counters"]["backoff_waited_ms"] > 0
    assert sim.stats.ws_refused >= 2

"""Every fault the simulator injects, against the real connector over a real loopback WebSocket.

Under each, the stored closed candles must equal the simulator's own record of them (no gap,
no duplicate, no open candle stored as closed) and events come in order, once each.
"""

from __future__ import annotations

import pytest

from ghostcandle.feeds.simulator.faults import Faults
from ghostcandle.store.db import Database

FAULTS = {
    "drop_before_close": (Faults(drop_before_close_ms=10_000, drop_interval="1m"), "reconnects"),
    "delay_duplicate_reorder": (
        Faults(delay_ms=300, duplicate_every=3, reorder_every=4),
        "builder_duplicates",
    ),
    "pings_unanswered": (Faults(ignore_pings_after_s=1.5), "reconnects"),
    "server_shutdown": (Faults(shutdown_after_s=1.5), "server_shutdowns"),
    "connection_age_cutoff": (Faults(max_connection_s=1.5), "reconnects"),
    "rest_429": (Faults(rest_429_every=2, retry_after_s=0.2), "candles_backfilled"),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_stored_series_equals_simulator_under_fault(
    name, make_sim, run_feed, assert_matches_simulator, db: Database
):
    faults, counter = FAULTS[name]
    sim = make_sim(faults)
    feed, events = run_feed(db, sim, 5.0)
    assert_matches_simulator(db, sim, events)
    assert events, "no candle was published"
    health = feed.status()
    assert health.counters.get(counter, 0) > 0, f"the fault {name} did not happen: {health}"
    if name == "rest_429":
        assert sim.stats.rest_429 > 0


def test_malformed_messages_are_rejected_counted_and_never_stored(
    make_sim, run_feed, assert_matches_simulator, db: Database
):
    sim = make_sim(Faults(malformed_every=4))
    feed, events = run_feed(db, sim, 4.0)
    assert_matches_simulator(db, sim, events)
    health = feed.status()
    # bad JSON, missing fields, NaN, high < low, a frame far too large: each counted
    assert set(health.rejected_by_reason) >= {
        "bad_json",
        "missing_field",
        "non_finite",
        "inconsistent_ohlc",
        "too_large",
    }
    assert health.messages_rejected == sim.stats.malformed or health.messages_rejected > 0
    assert health.counters["connections"] == 1, "a malformed message killed the connection"


def test_proactive_renewal_before_the_cutoff(
    make_sim, run_feed, assert_matches_simulator, db: Database
):
    sim = make_sim()
    feed, events = run_feed(db, sim, 4.0, max_connection_s=1.2)
    assert_matches_simulator(db, sim, events)
    assert feed.status().counters["renewals"] >= 2

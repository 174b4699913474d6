"""A learning session fed by a sped-up exchange simulator keeps the market's clock.

The simulator (5x real time, on 127.0.0.1) stamps its candles with its own time, which runs
ahead of the wall clock; ``ghostcandle serve`` runs a live session that trains on every candle
for about 40 s. Its training steps and ledger rows are stamped with the feed's time (the
runtime's ``FeedClock``), so ``audit session`` finds no step dated before the labels it used
(with the wall clock it reported ``label_after_step`` on most steps).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.feeds.simulator.market import synthetic_market
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig

from ..hardening.kill import cli, finish, query
from .conftest import WRITE_HEADERS, start_server, stop_server

SYM = "ETH/USDT"
SPEED = 5.0
RUN_S = 40


def _until(client: httpx.Client, ok: Callable[[dict[str, Any]], bool], what: str) -> None:
    deadline = time.monotonic() + 120
    st: dict[str, Any] = {}
    while time.monotonic() < deadline:
        st = client.get("/api/live-training/status").json()
        if ok(st):
            return
        time.sleep(0.3)
    raise AssertionError(f"not {what} within 120 s: {st}")


@pytest.mark.timeout(400)
def test_a_session_on_a_sped_up_simulator_passes_the_audit(tmp_path: Path) -> None:
    start = LiveClock().now_ms() - 3 * HOUR_MS  # the live model reads 120 1m candles
    market = synthetic_market((SYM,), ("1s", "1m"), start_ms=start, seed=17)
    with ExchangeSimulator(market, SimulatorConfig(seed=17, speed=SPEED)) as sim:
        args = ("--exchange-url", sim.rest_url, "--synthetic", "--intervals", "1s,1m")
        proc, srv = start_server(tmp_path, extra_args=(*args, "--symbols", SYM), seed=False)
        try:
            with httpx.Client(base_url=srv.url, headers=WRITE_HEADERS, timeout=60) as c:
                _until(c, lambda st: bool((st.get("feed") or {}).get("connected")), "connected")
                r = c.post("/api/live-training/start", json={"symbol": SYM, "mode": "every_candle"})
                assert r.status_code == 202, r.text
                sid = r.json()["session_id"]
                _until(c, lambda st: (st.get("metrics") or {}).get("predictions", 0) > 0, "live")
                time.sleep(RUN_S)
                assert c.post("/api/live-training/stop").status_code == 200
            ahead_s = (sim.sim_now() - LiveClock().now_ms()) / 1000
        finally:
            stop_server(proc)
    steps = query(
        srv.db_path,
        f"SELECT count(*), max(at_time) FROM training_steps WHERE session_id = '{sid}' "
        "AND status = 'ok'",
    )[0]
    assert steps[0] > 0, "the session trained no step: nothing was audited"
    assert ahead_s > RUN_S  # the market's time ran well ahead of the wall clock
    audit = finish(cli("audit", "session", "--db", str(srv.db_path), "--session", sid, "--json"))
    breaches = {k: v["count"] for k, v in json.loads(audit.stdout)["breaches"].items()}
    assert audit.returncode == 0, breaches

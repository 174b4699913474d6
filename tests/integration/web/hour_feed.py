"""A workspace streaming 1s, 1m, 1h and 1d candles from the simulator, an hour about to close.

An hourly prediction is made when an hour closes: the simulator's clock is set ``lead_s``
seconds before the next hour boundary, so it runs up to an hour ahead of the workspace's wall
clock (the workspace stores and predicts what the feed closes, whatever its clock says; the
window cache reloads on the first candle after the gap), with 60 hours of history: enough for
an hourly window of 48, not for a daily one of 30.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.feeds.simulator.market import synthetic_market
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig

from .conftest import Server, start_server, stop_server

SYMBOL = "ETH/USDT"
HISTORY_HOURS = 60


@contextmanager
def hourly_server(tmp: Path, *, seed: int = 5, lead_s: int = 100) -> Iterator[tuple[Server, int]]:
    """Yield the workspace and the simulated time at which the next hour closes."""
    wall = LiveClock().now_ms()
    hour_close = wall - wall % HOUR_MS + HOUR_MS
    sim_start = hour_close - lead_s * 1000
    market = synthetic_market(
        (SYMBOL,),
        ("1s", "1m", "1h", "1d"),
        start_ms=sim_start - HISTORY_HOURS * HOUR_MS,
        seed=seed,
    )
    sim = ExchangeSimulator(market, SimulatorConfig(seed=seed), sim_start_ms=sim_start)
    with sim:
        args = ("--exchange-url", sim.rest_url, "--synthetic", "--symbols", SYMBOL)
        args += ("--intervals", "1s,1m,1h,1d")
        proc, srv = start_server(tmp, extra_args=args, seed=False)
        try:
            yield srv, hour_close
        finally:
            stop_server(proc)

"""The Cluster tab of ``serve --ray`` in a real browser: the group's actor, Start and Stop.

``serve --ray`` (no address: a local Ray of its own) places the one symbol group in an actor
streaming from the real exchange simulator; the page lists it with its node and process, starts
its session from the tab and stops it, each read back from the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.feeds.simulator.market import synthetic_market
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig

from ..integration.web.conftest import Server, start_server, stop_server
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The simulator and ``serve --ray`` with one group (ETH/USDT) on a seeded database."""
    pytest.importorskip("ray")  # the `ray` extra (`make install` installs it)
    start = LiveClock().now_ms() - 2 * HOUR_MS
    market = synthetic_market(("ETH/USDT",), ("1s", "1m"), start_ms=start, seed=3)
    with ExchangeSimulator(market, SimulatorConfig(seed=3)) as sim:
        args = ("--exchange-url", sim.rest_url, "--synthetic", "--intervals", "1s,1m", "--ray")
        proc, srv = start_server(tmp_path_factory.mktemp("cluster"), extra_args=args)
        try:
            yield srv
        finally:
            stop_server(proc)


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace (its chart shows the seeded candles)."""
    with opened_page(browser_context, server.url + "/", timeout_ms=30_000) as p:
        yield p


def test_the_cluster_tab_shows_the_actor_and_starts_and_stops_its_session(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    tab = page.locator(".tab[data-tab='cluster']")
    expect(tab).to_be_visible()
    tab.click()
    row = page.locator("#cluster-table tr[data-group='ETH-USDT']")
    button = row.locator("button")
    # the actor's module loads torch in its worker: its first answer takes a while
    expect(button).to_have_text("Start", timeout=90_000)
    expect(button).to_be_enabled(timeout=90_000)
    actor = httpx.get(server.url + "/api/cluster").json()["actors"][0]
    expect(row.locator("td").nth(2)).to_have_text(str(actor["pid"]))
    expect(row.locator("td").nth(1)).to_have_text(actor["node_id"][:6])
    shot(page, "idle")
    button.click()
    expect(row.locator("td.state")).to_have_text("running", timeout=60_000)
    running = httpx.get(server.url + "/api/cluster").json()["actors"][0]
    assert running["session"]["session_id"].startswith("live-")
    shot(page, "running")
    expect(button).to_have_text("Stop")
    button.click()
    expect(row.locator("td.state")).to_have_text("stopped", timeout=60_000)
    assert httpx.get(server.url + "/api/cluster").json()["actors"][0]["state"] == "stopped"

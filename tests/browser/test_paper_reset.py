"""The live panel's Reset account button, in a real browser on the exchange simulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, expect

from ..integration.web.conftest import Server, simulated_server
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Run the exchange simulator and a workspace connected to it."""
    with simulated_server(tmp_path_factory.mktemp("reset"), ("ETH/USDT",), seed=3) as srv:
        yield srv


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace on the 1s chart once the feed has stored its history."""
    url = server.url + "/?timeframe=1s&symbol=ETH/USDT"
    with opened_page(browser_context, url, timeout_ms=30_000) as p:
        yield p


def test_reset_button_starts_the_paper_account_again(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='live']")
    expect(page.locator("#live-feed")).to_contain_text("connected")
    # a model that trades from fresh weights (the default abstains until sure)
    page.select_option("#live-model", "transformer")
    page.select_option("#live-mode", "none")
    page.click("#live-start")
    expect(page.locator("#live-paper")).to_be_visible(timeout=20_000)
    # the account holds a position on paper
    page.wait_for_function(
        "(() => { const p = window.ghostcandle.live.status.paper;"
        " return p && p.positions.length > 0; })()",
        timeout=60_000,
    )
    entry = page.evaluate("window.ghostcandle.live.status.paper.positions[0].entry_time")
    shot(page, "before-reset")

    # a dismissed confirm changes nothing
    page.once("dialog", lambda d: d.dismiss())
    page.click("#live-paper-reset")
    page.wait_for_timeout(500)
    sid = page.evaluate("window.ghostcandle.live.status.paper.session_id")
    kept = httpx.get(server.url + "/api/live-training/status").json()["paper"]
    assert [p["entry_time"] for p in kept["positions"]][:1] == [entry] or kept["trades"]

    seen: list[str] = []

    def accept(d: Dialog) -> None:
        seen.append(d.message)
        d.accept()

    page.once("dialog", accept)
    page.click("#live-paper-reset")
    expect(page.locator("#live-paper-figures")).to_contain_text("Trades0")
    assert sid in seen[0]
    paper = httpx.get(server.url + "/api/live-training/status").json()["paper"]
    # the session trades on from its next candle; a closed trade needs the 10-minute cooldown
    assert paper["trades"] == 0
    assert paper["fees"] == 0.0
    # the position held before is gone; one entered since the reset is a new one
    assert all(p["entry_time"] > entry for p in paper["positions"])
    assert len(paper["positions"]) <= 1
    assert httpx.get(server.url + "/api/live-training/status").json()["running"] is True
    shot(page, "after-reset")
    httpx.post(server.url + "/api/live-training/stop")

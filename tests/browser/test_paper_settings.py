"""The paper account's minimum confidence and cooldown, changed from the live panel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server, simulated_server
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Run the exchange simulator and a workspace connected to it."""
    with simulated_server(tmp_path_factory.mktemp("settings"), ("ETH/USDT",), seed=4) as srv:
        yield srv


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace on the 1s chart."""
    url = server.url + "/?timeframe=1s&symbol=ETH/USDT"
    with opened_page(browser_context, url, timeout_ms=30_000) as p:
        yield p


def _paper(server: Server) -> dict[str, Any]:
    paper: dict[str, Any] = httpx.get(server.url + "/api/live-training/status").json()["paper"]
    return paper


def test_min_confidence_and_cooldown_are_changed_from_the_panel(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='live']")
    expect(page.locator("#live-feed")).to_contain_text("connected")
    page.select_option("#live-model", "transformer")
    page.click("#live-start")
    expect(page.locator("#live-paper")).to_be_visible(timeout=20_000)
    # the account's own settings: paper trading's defaults for 1s signals
    stored = _paper(server)
    expect(page.locator("#paper-min-confidence")).to_have_value(str(stored["min_confidence"]))
    expect(page.locator("#paper-cooldown")).to_have_value(str(stored["cooldown"]))
    expect(page.locator("#paper-settings")).to_contain_text("candles of 1s")
    shot(page, "defaults")

    page.fill("#paper-min-confidence", "0.55")
    page.fill("#paper-cooldown", "5")
    page.click("#paper-settings-apply")
    expect(page.locator("#error")).to_contain_text("minimum confidence 0.55, cooldown 5")
    paper = _paper(server)
    assert (paper["min_confidence"], paper["cooldown"]) == (0.55, 5)
    # pushed statuses keep showing the stored values
    page.wait_for_function("window.ghostcandle.live.status.paper.cooldown === 5", timeout=10_000)
    expect(page.locator("#paper-cooldown")).to_have_value("5")
    shot(page, "changed")

    # a value out of range is refused in one line and changes nothing
    page.fill("#paper-min-confidence", "1.5")
    page.click("#paper-settings-apply")
    expect(page.locator("#error")).to_contain_text("field 'min_confidence'")
    assert _paper(server)["min_confidence"] == 0.55
    shot(page, "refused")
    httpx.post(server.url + "/api/live-training/stop")

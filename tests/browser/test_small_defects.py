"""Issue 14.4: the legend follows the newest candle, the training panel says when no trade is
selected, Start live says why it cannot start, and the API pages work offline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace (a seeded database, no exchange feed)."""
    with opened_page(browser_context, server.url + "/") as p:
        yield p


def test_the_legend_follows_the_newest_candle_while_the_mouse_is_away(
    page: Page, shot: Callable[..., Any]
) -> None:
    box = page.locator("#chart").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    hovered = page.inner_text("#legend")
    page.mouse.move(box["x"] + box["width"] + 100, box["y"] + 40)  # over the side panel
    last = page.evaluate("window.ghostcandle.chart.bars.at(-1)")
    new = {**last, "time": last["time"] + 60_000, "close": last["close"] * 1.01}
    new["high"] = max(new["high"], new["close"])
    page.evaluate(
        "c => window.ghostcandle.push.candle({...c, symbol: 'ETH/USDT', timeframe: '1m'})", new
    )
    stamp = page.evaluate(f"new Date({new['time']}).toISOString().slice(11, 16)")
    expect(page.locator("#legend")).to_contain_text(stamp)
    assert page.inner_text("#legend") != hovered
    shot(page, "legend-follows-newest")


def test_only_the_selected_trade_with_none_selected_says_so(
    page: Page, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='training']")
    page.check("#train-selected")
    page.click("#train-start")
    expect(page.locator("#error")).to_contain_text("no trade is selected")
    expect(page.locator("#train-status")).to_have_text("")  # nothing was started
    shot(page, "no-trade-selected")
    page.uncheck("#train-selected")


def test_start_live_is_disabled_with_the_reason_when_no_feed_runs(
    page: Page, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='live']")
    expect(page.locator("#live-start")).to_be_disabled()
    expect(page.locator("#live-start-why")).to_contain_text("needs an exchange feed")
    assert "exchange feed" in (page.get_attribute("#live-start", "title") or "")
    shot(page, "start-live-disabled")


@pytest.mark.parametrize(
    ("path", "rendered"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", "[role='navigation'], .api-content")],
    ids=["docs", "redoc"],  # names the screenshots
)
def test_the_api_pages_work_offline(
    browser_context: BrowserContext,
    server: Server,
    shot: Callable[..., Any],
    path: str,
    rendered: str,
) -> None:
    page = browser_context.new_page()
    local = urlsplit(server.url).netloc
    requests: list[str] = []

    def record(route: Any) -> None:
        # every request the browser would send over the network passes here (what the page's
        # Content-Security-Policy blocks never does); anything else is refused, as offline
        requests.append(route.request.url)
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            route.abort()

    page.route("**/*", record)
    page.goto(server.url + path)
    page.wait_for_selector(rendered, timeout=20_000)
    expect(page.locator("body")).to_contain_text("ghostcandle workspace")
    expect(page.locator("body")).to_contain_text("/api/annotations")
    shot(page, path.strip("/"))
    page.close()
    off_machine = [
        u for u in requests if urlsplit(u).netloc != local and not u.startswith(("data:", "blob:"))
    ]
    assert requests, "the page made no request at all"
    assert off_machine == [], f"{path} asked for files off the machine: {off_machine}"

"""The live panel's timeframe boxes: a session predicting 1h draws its ghosts and signals there.

The simulator's clock stands a little before an hour boundary (``hour_feed``), so the hourly
prediction comes within the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server
from ..integration.web.hour_feed import hourly_server
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hourly(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, int]]:
    """The workspace on an hourly feed, and the time its next hour closes."""
    with hourly_server(tmp_path_factory.mktemp("hourly-ui"), seed=9) as got:
        yield got


@pytest.fixture
def page(browser_context: BrowserContext, hourly: tuple[Server, int]) -> Iterator[Page]:
    """Open the workspace on the hourly chart."""
    url = hourly[0].url + "/?timeframe=1h&symbol=ETH/USDT"
    with opened_page(browser_context, url, timeout_ms=40_000) as p:
        yield p


def test_hourly_ghosts_and_signals_are_drawn_on_the_hourly_chart(
    page: Page, hourly: tuple[Server, int], shot: Callable[..., Any]
) -> None:
    server, hour_close = hourly
    page.click(".tab[data-tab='live']")
    expect(page.locator("#live-feed")).to_contain_text("connected")
    boxes = page.locator("#live-timeframes input")
    expect(boxes).to_have_count(4)
    # the family's usual timeframes are checked; a start that changes nothing names none
    checked = boxes.evaluate_all("bs => bs.filter(b => b.checked).map(b => b.value)")
    assert checked == ["1s", "1m"]
    assert page.evaluate("window.ghostcandle.live.timeframes.body()") == {}
    page.select_option("#live-model", "transformer")
    page.uncheck("#live-timeframes input[value='1s']")
    page.check("#live-timeframes input[value='1h']")
    assert page.evaluate("window.ghostcandle.live.timeframes.body()") == {
        "timeframes": ["1m", "1h"]
    }
    shot(page, "timeframes-picked")
    page.click("#live-start")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "running")
    status = httpx.get(server.url + "/api/live-training/status").json()
    assert status["timeframes"] == ["1m", "1h"]
    # the chart stays on 1h: a timeframe the session predicts; the boxes are locked meanwhile
    assert page.evaluate("window.ghostcandle.chart.timeframe") == "1h"
    expect(page.locator("#live-timeframes input[value='1h']")).to_be_disabled()

    # the hour closes: its ghost is drawn where the next hourly candle will be
    page.wait_for_function(
        f"window.ghostcandle.chart.ghosts.data().some(g => g.time * 1000 === {hour_close})",
        timeout=170_000,
    )
    preds = httpx.get(
        server.url + "/api/live-training/predictions", params={"timeframe": "1h"}
    ).json()["predictions"]
    made = next(p for p in preds if p["model"] == "transformer" and p["time"] == hour_close)
    ghost = page.evaluate(
        f"window.ghostcandle.chart.ghosts.data().find(g => g.time * 1000 === {hour_close})"
    )
    assert ghost["close"] == pytest.approx(made["close"])
    if made["action"] in ("BUY", "SELL"):
        # its signal is an arrow on the hourly chart, listed among the panel's signals
        page.wait_for_function(
            "(window.ghostcandle.chart.markerLayers.signals || [])"
            f".some(m => m.time === {hour_close})",
            timeout=20_000,
        )
        arrow = page.evaluate(
            "window.ghostcandle.chart.markerLayers.signals"
            f".find(m => m.time === {hour_close}).shape"
        )
        assert arrow == ("arrowUp" if made["action"] == "BUY" else "arrowDown")
        expect(page.locator("#live-signals span").first).to_contain_text(made["action"])
    else:
        markers = page.evaluate("window.ghostcandle.chart.markerLayers.signals || []")
        assert all(m["time"] != hour_close for m in markers)
    shot(page, "hourly-ghost")

    # a reopened page fetches the hourly ghosts it was not pushed
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=40_000)
    page.wait_for_function(
        f"window.ghostcandle.chart.ghosts.data().some(g => g.time * 1000 === {hour_close})",
        timeout=20_000,
    )
    shot(page, "hourly-ghost-after-reload")
    httpx.post(server.url + "/api/live-training/stop")

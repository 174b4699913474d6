"""Indicator panes under the price (RSI, MACD, ATR) and the depth ladder, in a real browser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server, seed_database, start_server, stop_server
from ..integration.web.depth_seed import SYMBOL, seed_books
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve the seeded candles and two stored books of ETH/USDT (none of any other symbol)."""
    tmp = tmp_path_factory.mktemp("panes")
    seed_database(tmp / "ws.duckdb")
    seed_books(tmp / "ws.duckdb", (3000.0, 3100.0))
    proc, srv = start_server(tmp)
    yield srv
    stop_server(proc)


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace on the 1m chart."""
    with opened_page(browser_context, server.url + "/?symbol=ETH/USDT&timeframe=1m") as p:
        yield p


def _summary(page: Page) -> dict[str, Any]:
    got: dict[str, Any] = page.evaluate("window.ghostcandle.panes.summary()")
    return got


def test_indicator_panes_show_rsi_macd_atr_under_the_price(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    assert _summary(page)["panes"] == 1  # off by default: the price has the whole height
    page.keyboard.press("o")
    expect(page.locator("#panes-toggle")).to_have_class("toggle active")
    page.wait_for_function("window.ghostcandle.panes.summary().points.rsi_14 > 0")
    got = _summary(page)
    assert got["panes"] == 4
    price, *under = got["heights"]
    assert all(60 <= h < price for h in under), got["heights"]  # readable, price the tallest
    # one point per loaded candle whose indicator is defined: what the API holds for them
    bars = page.evaluate("window.ghostcandle.chart.bars.map(b => b.time)")
    q = {"symbol": SYMBOL, "timeframe": "1m", "start": bars[0], "end": bars[-1]}
    series = httpx.get(server.url + "/api/indicators", params=q, timeout=30).json()["series"]
    loaded = set(bars)
    for col in ("rsi_14", "macd", "macd_signal", "macd_hist", "atr_14"):
        want = sum(
            1
            for t, v in zip(series["time"], series[col], strict=True)
            if v is not None and t in loaded
        )
        assert got["points"][col] == want > 0, col
    shot(page, "panes")
    page.click("#panes-toggle")
    assert _summary(page)["panes"] == 1
    shot(page, "panes-off")


def test_depth_ladder_shows_the_newest_book(page: Page, shot: Callable[..., Any]) -> None:
    page.keyboard.press("d")
    box = page.locator("#depth")
    expect(box).to_be_visible()
    expect(box).to_have_attribute("data-state", "book")
    expect(box.locator(".lvl.ask")).to_have_count(20)
    expect(box.locator(".lvl.bid")).to_have_count(20)
    # the newest book (mid 3100), best levels next to the spread
    expect(box.locator(".lvl.bid").first).to_contain_text("3099.50")
    expect(box.locator(".lvl.ask").last).to_contain_text("3100.50")
    expect(box.locator(".spread")).to_contain_text("1.0000")
    # the deepest ask has the largest quantity: its bar is the widest
    widths = box.locator(".lvl.ask .depth-bar").evaluate_all(
        "bs => bs.map(b => b.getBoundingClientRect().width)"
    )
    assert widths[0] == max(widths) > widths[-1]
    shot(page, "depth")
    page.keyboard.press("d")
    expect(box).to_be_hidden()

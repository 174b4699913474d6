"""A trader's session in a real browser: chart, marking a trade, its test case, errors, panels."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace and wait until the chart has its candles."""
    with opened_page(browser_context, server.url + "/") as p:
        yield p


def click_candle(page: Page, fraction: float) -> None:
    """Click the chart at ``fraction`` of its width, slowly (0.5 s apart is a double-click)."""
    box = page.locator("#chart").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] * 0.45)
    page.wait_for_timeout(700)


def test_chart_shows_candles_and_switches_timeframe(page: Page, shot: Callable[..., Any]) -> None:
    shot(page, "workspace")
    bars = page.evaluate("window.ghostcandle.chart.bars.length")
    assert bars == 1000  # one page; older history loads when panning back
    expect(page.locator("#legend")).to_contain_text("ETH/USDT")
    page.keyboard.press("3")
    expect(page.locator(".tf.active")).to_have_text("1h")
    page.wait_for_function(
        "window.ghostcandle.chart.timeframe === '1h' && !window.ghostcandle.chart.loading"
    )
    assert page.evaluate("window.ghostcandle.chart.bars.length") == 72
    shot(page, "1h")
    page.keyboard.press("1")
    expect(page.locator("#empty")).to_contain_text("No 1s candles of ETH/USDT are stored")
    shot(page, "1s-empty")


def test_panning_back_loads_history(page: Page) -> None:
    page.evaluate(
        "window.ghostcandle.chart.chart.timeScale().setVisibleLogicalRange({from: 0, to: 100})"
    )
    page.wait_for_function("window.ghostcandle.chart.bars.length > 1000", timeout=10_000)
    first = page.evaluate("window.ghostcandle.chart.bars[0].time")
    assert page.evaluate("window.ghostcandle.chart.bars.length") <= 3 * 1440
    times = page.evaluate("window.ghostcandle.chart.bars.map(b => b.time)")
    assert times == sorted(set(times))
    assert first == times[0]


def test_mark_trade_by_clicking_two_candles_writes_test_case(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.keyboard.press("a")
    expect(page.locator("#hint")).to_contain_text("ENTRY")
    click_candle(page, 0.35)
    expect(page.locator("#hint")).to_contain_text("EXIT")
    click_candle(page, 0.65)
    expect(page.locator("#draft-save")).to_be_enabled()
    page.fill("#draft-notes", "double bottom")
    shot(page, "draft")
    direction = page.inner_text("#draft-direction")
    page.click("#draft-save")
    expect(page.locator("#error")).to_contain_text("test case annotation_")
    row = page.locator("#ann-table tbody tr").first
    expect(row).to_contain_text(direction)
    shot(page, "saved")

    (ann,) = page.evaluate("window.ghostcandle.annotator.items")
    path = server.data_dir / f"annotation_{ann['annotation_id']}.json"
    case = json.loads(path.read_text())
    assert case["annotation"]["notes"] == "double bottom"
    assert case["expected_outcome"]["direction"] == direction
    assert len(case["market_state"]["ohlcv_1m"]["close"]) == 100
    expect(page.locator("#sel-file")).to_contain_text(path.name)

    # edit, then delete with the keyboard
    page.fill("#sel-notes", "double bottom, retest")
    page.click("#sel-save")
    expect(page.locator("#error")).to_contain_text("updated")
    assert json.loads(path.read_text())["annotation"]["notes"] == "double bottom, retest"
    page.locator("#chart").click(position={"x": 5, "y": 5})
    page.keyboard.press("Delete")
    expect(page.locator("#ann-empty")).to_be_visible()
    assert not path.exists()
    shot(page, "deleted")


def test_bad_input_shows_a_clear_error(page: Page, shot: Callable[..., Any]) -> None:
    page.set_input_files(
        "#import",
        files=[
            {
                "name": "cases.json",
                "mimeType": "application/json",
                "buffer": b'{"test_cases": [{"symbol": "ETH/USDT"}]}',
            }
        ],
    )
    expect(page.locator("#error")).to_contain_text("test case #1: field 'timestamp' is missing")
    shot(page, "import-error")
    assert page.evaluate("window.ghostcandle.annotator.items.length") == 0


def test_engine_panels_say_why_they_are_disabled(page: Page, shot: Callable[..., Any]) -> None:
    status = page.evaluate("fetch('/api/status').then(r => r.json())")
    for name in ("training", "live", "backtest"):
        page.click(f".tab[data-tab='{name}']")
        note = page.locator(f"[data-feature='{name}']")
        feature = status["features"][name]
        if feature["available"]:
            expect(note).to_be_hidden()
        else:
            expect(note).to_contain_text(feature["reason"])
            expect(page.locator(f"[data-feature-body='{name}'] button").first).to_be_disabled()
        shot(page, name)

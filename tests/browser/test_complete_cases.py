"""Issue 14.2: a test case says how complete it is, the draft warns first, and the still-forming
candle cannot be an exit."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server
from .conftest import opened_page
from .test_workspace import click_candle

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace (the seeded database has 1m candles and their roll-ups, no 1s)."""
    with opened_page(browser_context, server.url + "/") as p:
        yield p


def test_the_draft_warns_of_an_incomplete_case_and_the_case_records_it(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.keyboard.press("a")
    click_candle(page, 0.4)
    click_candle(page, 0.7)
    warning = page.locator("#draft-case")
    expect(warning).to_contain_text("Incomplete test case")
    expect(warning).to_contain_text("1s 0/100")
    shot(page, "draft-warns")
    text = warning.inner_text()
    page.click("#draft-save")
    page.wait_for_function("window.ghostcandle.annotator.items.length === 1")
    (ann,) = page.evaluate("window.ghostcandle.annotator.items")
    case = json.loads((server.data_dir / f"annotation_{ann['annotation_id']}.json").read_text())
    held = case["completeness"]["candles"]
    assert case["completeness"]["complete"] is False
    assert ann["complete"] is False
    assert held == ann["completeness"]
    for tf, n in held.items():
        assert len(case["market_state"][f"ohlcv_{tf}"]["close"]) == n
        if n < 100:
            assert f"{tf} {n}/100" in text  # the draft named each short timeframe
    assert held["1m"] == 100
    assert held["1s"] == 0


def test_the_forming_candle_cannot_be_picked_as_the_exit(
    page: Page, shot: Callable[..., Any]
) -> None:
    last = page.evaluate("window.ghostcandle.chart.bars.at(-1)")
    forming = {**last, "time": last["time"] + 60_000, "symbol": "ETH/USDT", "timeframe": "1m"}
    page.evaluate("c => window.ghostcandle.push.forming(c)", forming)
    page.evaluate("window.ghostcandle.chart.scrollToLatest()")
    page.wait_for_timeout(300)
    page.keyboard.press("a")
    click_candle(page, 0.5)
    x = page.evaluate(
        f"window.ghostcandle.chart.chart.timeScale().timeToCoordinate({forming['time'] / 1000})"
    )
    box = page.locator("#chart").bounding_box()
    assert box is not None
    assert x is not None
    page.mouse.click(box["x"] + x, box["y"] + box["height"] * 0.45)
    expect(page.locator("#error")).to_contain_text("still forming")
    expect(page.locator("#draft-exit")).to_have_text("click a later candle")
    expect(page.locator("#draft-pnl")).to_have_text("—")
    expect(page.locator("#draft-save")).to_be_disabled()
    shot(page, "forming-refused")
    # once it closes it can be the exit
    page.evaluate("c => window.ghostcandle.push.candle(c)", forming)
    page.wait_for_timeout(700)  # two clicks closer than 0.5 s are a double-click
    page.mouse.click(box["x"] + x, box["y"] + box["height"] * 0.45)
    expect(page.locator("#draft-save")).to_be_enabled()
    page.keyboard.press("Escape")

"""Issue 14.3: training accuracy beside held-out accuracy; backtest fees with cents, a
drawdown never shown as a gain, trade markers without piled-up labels."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace on the seeded database."""
    with opened_page(browser_context, server.url + "/") as p:
        yield p


def test_training_shows_held_out_accuracy_beside_the_trained(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    bars = page.evaluate("window.ghostcandle.chart.bars.map(b => b.time)")
    for i in range(6):  # six trades: the newest is held out
        entry = bars[200 + 120 * i]
        httpx.post(
            f"{server.url}/api/annotations",
            json={"symbol": "ETH/USDT", "timeframe": "1m", "entry_time": entry,
                  "exit_time": entry + 20 * 60_000},
        ).raise_for_status()  # fmt: skip
    page.wait_for_function("window.ghostcandle.annotator.items.length === 6")
    page.click(".tab[data-tab='training']")
    page.select_option("#train-model", "cnn")
    page.fill("#train-epochs", "2")
    page.click("#train-start")
    expect(page.locator("#train-status")).to_contain_text("completed", timeout=90_000)
    rows = page.locator("#train-epochs-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#train-epochs-table thead")).to_contain_text("Held-out acc.")
    for i in range(2):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert re.fullmatch(r"\d+%", cells[2]), cells
        assert re.fullmatch(r"(0|100)% of 1", cells[3]), cells
    shot(page, "held-out-accuracy")


def test_backtest_figures_fees_in_cents_drawdown_as_a_fall_bare_markers(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='backtest']")
    page.select_option("#bt-model", "moving_average")
    page.click("#bt-run")
    expect(page.locator("#bt-status")).to_contain_text("completed", timeout=60_000)
    result = httpx.get(server.url + "/api/backtest/status").json()["result"]
    figures = dict(
        zip(
            page.locator("#bt-figures dt").all_inner_texts(),
            page.locator("#bt-figures dd").all_inner_texts(),
            strict=True,
        )
    )
    assert figures["Fees"] == f"${result['fees']:.2f}"
    dd = figures["Max drawdown"]
    assert not dd.startswith("+")
    assert dd == (
        "0.00%" if result["max_drawdown_pct"] < 0.005 else f"-{result['max_drawdown_pct']:.2f}%"
    )
    texts = page.evaluate("window.ghostcandle.chart.markerLayers.trades.map(m => m.text)")
    assert len(texts) == 2 * len(result["trades"])
    assert set(texts) <= {""}
    shot(page, "backtest-figures")

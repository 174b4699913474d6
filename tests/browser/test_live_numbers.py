"""Issue 14.3 (live): skill against the strongest baseline and net P&L with their sample sizes
instead of a raw accuracy; a stopped session's pending predictions stop saying pending."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ghostcandle.domain.timeframes import HOUR_MS

from ..integration.web.conftest import Server, simulated_server
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The exchange simulator and a workspace connected to it (3 h of history)."""
    with simulated_server(
        tmp_path_factory.mktemp("numbers"), ("ETH/USDT",), seed=9, history_ms=3 * HOUR_MS
    ) as srv:
        yield srv


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the 1s chart once the feed has stored its history."""
    url = server.url + "/?timeframe=1s&symbol=ETH/USDT"
    with opened_page(browser_context, url, timeout_ms=30_000) as p:
        yield p


def test_live_shows_skill_and_net_pnl_with_sample_sizes_and_settles_on_stop(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='live']")
    expect(page.locator("#live-feed")).to_contain_text("connected")
    expect(page.locator("#live-start")).to_be_enabled()
    page.select_option("#live-model", "transformer")
    page.select_option("#live-mode", "none")
    page.click("#live-start")
    expect(page.locator("#live-state")).to_contain_text("running · none · transformer")
    quality = page.locator("#live-quality")
    expect(quality).to_contain_text("Skill 1s vs", timeout=40_000)
    expect(quality).to_contain_text("Net P&L 1s")
    expect(quality).to_contain_text("n=")
    expect(page.locator("#live-metrics")).not_to_contain_text("Accuracy")
    sid = httpx.get(server.url + "/api/live-training/status").json()["session_id"]
    ev = httpx.get(server.url + "/api/evaluation", params={"session": sid}).json()
    vs = ev["evaluation"]["transformer"]["1s"]["skill"]["close"]["vs_strongest"]
    assert vs["baseline"] in quality.inner_text()
    shot(page, "skill-and-net-pnl")

    page.click("#live-stop")
    expect(page.locator("#live-state")).to_have_text("stopped")
    rows = page.locator("#live-table tbody tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("#live-table tbody tr.pending")).to_have_count(0)
    cells = page.locator("#live-table tbody td:nth-child(4)").all_inner_texts()
    assert "…" not in cells
    shot(page, "stopped-not-pending")

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


def test_live_metrics_say_how_many_batches_training_skipped(page: Page) -> None:
    """A session whose training falls behind its candles skips its oldest waiting batches
    (``training_backlog``); the live panel says how many, and says nothing while none was."""
    page.click(".tab[data-tab='live']")
    metrics = {"predictions_per_s": 30.0, "training_batches_per_min": 12.0, "predictions": 900,
               "resolved": 850, "train_steps": 40, "train_failed": 0, "accuracy": None}  # fmt: skip
    shown = page.evaluate(
        """async (m) => {
            const figures = await import("/static/js/live_figures.js");
            const out = [];
            for (const skipped of [0, 7]) {  // one task: the panel's own refresh cannot interleave
                figures.showMetrics({cpu_percent: 50, gpu_percent: null,
                                     metrics: {...m, batches_superseded: skipped}});
                out.push([...document.querySelectorAll("#live-metrics dt")]
                    .map((dt) => [dt.textContent, dt.nextElementSibling.textContent]));
            }
            return out;
        }""",
        metrics,
    )
    none, some = (dict(pairs) for pairs in shown)
    assert "Batches skipped (training behind)" not in none
    assert some["Batches skipped (training behind)"] == "7"
    assert some["Predictions · resolved"] == "900 · 850"  # the other figures as before

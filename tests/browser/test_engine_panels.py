"""The workspace wired to the engine, in a real browser: overlays, training, bad input, backtest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import START, Server
from .conftest import opened_page

pytestmark = pytest.mark.browser
MIN = 60_000


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace and wait until the chart has its candles and their structure."""
    with opened_page(browser_context, server.url + "/") as p:
        p.wait_for_function("window.ghostcandle.chart.indicatorData != null", timeout=15_000)
        yield p


def test_pivots_by_level_and_indicator_overlays(page: Page, shot: Callable[..., Any]) -> None:
    chart = "window.ghostcandle.chart"
    pivots = page.evaluate(f"{chart}.pivots")
    assert pivots, "the 1m series has pivots"
    assert {p["level"] for p in pivots} >= {1, 2}
    drawn = page.evaluate(f"{chart}.markers.markers().filter(m => m.id?.startsWith('pivot-'))")
    loaded = set(page.evaluate(f"{chart}.bars.map(b => b.time)"))
    assert len(drawn) == sum(1 for p in pivots if p["time"] in loaded)
    assert all(m["text"] == (f"L{m['id'][7]}" if m["id"][7] != "1" else "") for m in drawn)
    # overlays are off until toggled, then every overlay has its points on screen
    assert page.evaluate(f"{chart}.overlaySeries.sma_20.options().visible") is False
    page.keyboard.press("i")
    expect(page.locator("#ind-toggle")).to_have_class("toggle active")
    assert page.evaluate(f"{chart}.overlaySeries.sma_20.options().visible") is True
    assert page.evaluate(f"{chart}.overlaySeries.sma_20.data().length") > 900
    shot(page, "overlays-on")
    page.keyboard.press("p")
    pivot_markers = f"{chart}.markers.markers().filter(m => m.id?.startsWith('pivot-')).length"
    assert page.evaluate(pivot_markers) == 0
    page.keyboard.press("p")
    page.keyboard.press("i")


def test_training_without_annotations_says_so(page: Page, shot: Callable[..., Any]) -> None:
    page.click(".tab[data-tab='training']")
    page.click("#train-start")
    expect(page.locator("#train-status")).to_have_text(
        "No test cases found — create annotations first"
    )
    shot(page, "no-test-cases")


def test_bad_epochs_shows_the_field_and_changes_nothing(
    page: Page, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='training']")
    page.fill("#train-epochs", "0")
    page.click("#train-start")
    expect(page.locator("#error")).to_contain_text("field 'epochs'")
    expect(page.locator("#error")).to_contain_text("nothing was changed")
    assert page.locator("#train-epochs-table tbody tr").count() == 0
    shot(page, "bad-epochs")


def test_training_streams_epochs_then_checkpoints(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    day2 = START + 2 * 1440 * MIN
    with httpx.Client(base_url=server.url, timeout=10) as c:
        for k, (a, b) in enumerate([(600, 640), (900, 930), (1200, 1260)]):
            r = c.post(
                "/api/annotations",
                json={
                    "symbol": "ETH/USDT",
                    "timeframe": "1m",
                    "entry_time": day2 + a * MIN,
                    "exit_time": day2 + b * MIN,
                    "notes": f"case {k}",
                },
            )
            assert r.status_code == 201, r.text
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    page.click(".tab[data-tab='training']")
    expect(page.locator("#train-cases")).to_contain_text("3 annotated trades")
    page.fill("#train-epochs", "6")
    page.select_option("#train-model", "transformer")
    page.click("#train-start")
    rows = page.locator("#train-epochs-table tbody tr")
    expect(rows.first).to_contain_text("/6", timeout=30_000)
    shot(page, "training-running")
    expect(rows).to_have_count(6, timeout=60_000)
    expect(page.locator("#train-status")).to_contain_text("completed 6 epochs", timeout=30_000)
    expect(page.locator("#train-status")).to_contain_text("checkpoint saved")
    epochs = [r.split("\t")[0] for r in rows.all_inner_texts()]
    assert epochs == [f"{n}/6" for n in range(6, 0, -1)]
    shot(page, "training-completed")
    status = httpx.get(server.url + "/api/train-model/status").json()
    assert status["status"] == "completed"
    assert Path(status["checkpoint"]).is_file()


def test_backtest_of_the_visible_range_shows_result_and_trades(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='backtest']")
    expect(page.locator("#bt-range")).to_contain_text("Visible range")
    page.select_option("#bt-model", "drift")
    visible = page.evaluate("window.ghostcandle.chart.visibleRange()")
    page.click("#bt-run")
    expect(page.locator("#bt-status")).to_contain_text("completed", timeout=60_000)
    # an answer that arrives after a newer pushed state (a fast run) must not undo it
    page.evaluate("window.ghostcandle.backtest.onEvent({status: 'running', progress: 0, seq: 1})")
    expect(page.locator("#bt-status")).to_contain_text("completed")
    shot(page, "backtest-result")
    state = httpx.get(server.url + "/api/backtest/status").json()
    result = state["result"]
    # the run covered what the chart showed, and the panel shows the engine's figures
    assert result["start"] == int(visible["start"])
    assert result["end"] >= int(visible["end"])
    assert result["candles"] > 50
    expect(page.locator("#bt-figures")).to_contain_text(f"Trades{len(result['trades'])}")
    assert page.locator("#bt-trades tbody tr").count() == len(result["trades"])
    assert page.locator("#bt-equity").is_visible() == (len(result["equity"]) >= 2)
    drawn = page.evaluate("window.ghostcandle.chart.markerLayers.trades.length")
    assert drawn == 2 * len(result["trades"])


def test_backtest_from_the_annotation_checkpoint_says_so(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    # runs after test_training_streams_epochs_then_checkpoints (same module server)
    page.click(".tab[data-tab='backtest']")
    page.select_option("#bt-model", "transformer")
    page.check("#bt-from-ckpt")
    page.click("#bt-run")
    expect(page.locator("#bt-status")).to_contain_text(
        "completed: transformer from annotations-transformer (step 6)", timeout=60_000
    )
    shot(page, "backtest-from-checkpoint")
    result = httpx.get(server.url + "/api/backtest/status").json()["result"]
    trained = httpx.get(server.url + "/api/train-model/status").json()
    assert result["checkpoint"]["path"] == trained["checkpoint"]
    expect(page.locator("#bt-figures")).to_contain_text(f"Trades{len(result['trades'])}")
    # unchecked, the same model starts from fresh weights and reports no checkpoint
    page.uncheck("#bt-from-ckpt")
    page.click("#bt-run")
    expect(page.locator("#bt-status")).to_contain_text("completed: transformer on", timeout=60_000)
    assert httpx.get(server.url + "/api/backtest/status").json()["result"]["checkpoint"] is None


def test_backtest_of_an_unstored_timeframe_says_what_is_missing(page: Page) -> None:
    r = httpx.post(
        page.url.split("/?")[0].rstrip("/") + "/api/backtest",
        json={"model": "drift", "symbol": "ETH/USDT", "timeframe": "1s", "start": 1, "end": 2},
    )
    assert r.status_code == 404
    assert "no 1s candles of ETH/USDT are stored" in r.json()["detail"]

"""Live mode on the exchange simulator, in a real browser: ghost candles meet their real candles.

The simulator is the real one on a real socket; ``ghostcandle serve`` connects to it exactly as to
Binance (only the base URL differs) and starts with an empty database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.engine.runtime import DEFAULT_LIVE_MODEL
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for

from ..integration.web.conftest import Server, simulated_server
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Run the exchange simulator and a workspace connected to it.

    Three hours of history: the default live model reads 120 1m candles.
    """
    symbols = ("ETH/USDT", "BTC/USDT")
    with simulated_server(
        tmp_path_factory.mktemp("live"), symbols, seed=7, history_ms=3 * HOUR_MS
    ) as srv:
        yield srv


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace on the 1s chart once the feed has stored its history."""
    url = server.url + "/?timeframe=1s&symbol=ETH/USDT"
    with opened_page(browser_context, url, timeout_ms=30_000) as p:
        yield p


def test_the_model_picker_preselects_the_default_live_model_and_starts_it(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='live']")
    expect(page.locator("#live-feed")).to_contain_text("connected")
    models = httpx.get(server.url + "/api/models").json()
    assert models["default_live"] == DEFAULT_LIVE_MODEL
    # the picker offers the learning models (as the training panel does), the default selected
    picker = page.locator("#live-model")
    expect(picker).to_have_value(DEFAULT_LIVE_MODEL)
    offered = picker.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert offered == [m["name"] for m in models["models"] if m["learns"]]
    expect(picker.locator("option:checked")).to_have_text(f"{DEFAULT_LIVE_MODEL} (default)")
    page.select_option("#live-mode", "none")
    page.click("#live-start")
    expect(page.locator("#live-state")).to_contain_text(f"running · none · {DEFAULT_LIVE_MODEL}")
    assert httpx.get(server.url + "/api/live-training/status").json()["model"] == DEFAULT_LIVE_MODEL
    shot(page, "default-model-running")
    page.click("#live-stop")
    expect(page.locator("#live-state")).to_have_text("stopped")


def test_live_mode_draws_ghost_candles_that_meet_their_real_candles(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    expect(page.locator("#market-badge")).to_contain_text("SYNTHETIC")
    page.click(".tab[data-tab='live']")
    expect(page.locator("#live-feed")).to_contain_text("connected")
    # the transformer trades on paper from fresh weights; the default model abstains until sure
    page.select_option("#live-model", "transformer")
    page.select_option("#live-mode", "none")
    page.click("#live-start")
    expect(page.locator("#live-state")).to_contain_text("running · none · transformer")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "running")
    # a ghost candle is drawn for the next 1s candle before that candle exists ...
    page.wait_for_function(
        "(() => { const l = window.ghostcandle.live;"
        " return [...l.ghosts.values()].some(g => !l.closed.has(g.time)); })()",
        timeout=20_000,
    )
    ghost_time = page.evaluate(
        "(() => { const l = window.ghostcandle.live;"
        " return Math.max(...[...l.ghosts.values()].map(g => g.time)); })()"
    )
    assert page.evaluate("window.ghostcandle.chart.ghosts.data().length") >= 1
    shot(page, "ghost-drawn")
    # ... then its real candle closes beside it, and the ghost stays
    page.wait_for_function(f"window.ghostcandle.live.closed.has({ghost_time})", timeout=10_000)
    ghosts = page.evaluate("window.ghostcandle.chart.ghosts.data().map(g => g.time * 1000)")
    assert ghost_time in ghosts
    expect(page.locator("#live-table tbody tr").first).to_be_visible()
    page.wait_for_function(
        "[...document.querySelectorAll('#live-table tbody tr.resolved')].length > 0",
        timeout=10_000,
    )
    expect(page.locator("#live-metrics")).to_contain_text("Predictions / s")
    expect(page.locator("#live-metrics")).to_contain_text("CPU load")
    shot(page, "ghost-and-real-candle")

    # the ghosts belong to the live symbol: another symbol's chart shows none of them
    page.select_option("#symbol", "BTC/USDT")
    # (the chart reloads first, then the live overlays are redrawn for it: wait for both)
    page.wait_for_function(
        "window.ghostcandle.chart.symbol === 'BTC/USDT' && !window.ghostcandle.chart.loading"
        " && window.ghostcandle.chart.ghosts.data().length === 0",
        timeout=10_000,
    )
    page.wait_for_timeout(1_500)  # live predictions keep arriving: none may land on this chart
    assert page.evaluate("window.ghostcandle.chart.ghosts.data().length") == 0
    shot(page, "other-symbol-no-ghosts")
    page.select_option("#symbol", "ETH/USDT")
    page.wait_for_function(
        "window.ghostcandle.chart.symbol === 'ETH/USDT'"
        " && window.ghostcandle.chart.ghosts.data().length > 0",
        timeout=10_000,
    )

    # the live signals trade on paper: the account is pushed with every closed candle
    expect(page.locator("#live-paper")).to_be_visible()
    expect(page.locator("#live-paper-figures")).to_contain_text("Win rate")
    page.wait_for_function(
        "(() => { const p = window.ghostcandle.live.status.paper;"
        " return p && (p.positions.length > 0 || p.trades > 0); })()",
        timeout=30_000,
    )
    paper = page.evaluate("window.ghostcandle.live.status.paper")
    expect(page.locator("#live-paper-figures")).to_contain_text(f"Trades{paper['trades']}")
    if paper["positions"]:
        side = paper["positions"][0]["side"]
        expect(page.locator("#live-paper-positions")).to_be_visible()
        expect(page.locator("#live-paper-positions tbody tr").first).to_contain_text(side)
    shot(page, "paper-trading")
    api = httpx.get(server.url + "/api/live-training/status").json()["paper"]
    assert api["session_id"] == paper["session_id"]
    assert api["trades"] >= paper["trades"]

    # the API agrees: the ghost's prediction resolved against the candle the chart shows
    # (every model of the session predicts each second: ask for enough 1s ones to reach it)
    preds = httpx.get(server.url + "/api/live-training/predictions?timeframe=1s&limit=1000").json()
    mine = [
        p
        for p in preds["predictions"]
        if p["model"] == "transformer" and p["timeframe"] == "1s" and p["target_time"] == ghost_time
    ]
    assert mine
    assert mine[0]["status"] == "resolved"
    bar = page.evaluate(f"window.ghostcandle.chart.byTime.get({ghost_time})")
    assert mine[0]["actual"] == bar["close"]

    # manual labels are refused outside manual mode, with the reason
    page.click("#live-stop")
    expect(page.locator("#live-state")).to_have_text("stopped")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "stopped")
    r = httpx.post(server.url + "/api/realtime-inference/train-manual", json={"action": "BUY"})
    assert r.status_code == 503
    assert "start it in manual mode" in r.json()["detail"]

    # starting from the annotation-trained checkpoint before any training says what to do
    page.check("#live-from-ckpt")
    page.click("#live-start")
    expect(page.locator("#error")).to_contain_text(
        "no annotation-trained checkpoint of transformer"
    )
    expect(page.locator("#live-state")).to_have_text("stopped")


def test_a_session_that_fails_to_start_shows_failed_and_why(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    body = {"symbol": "ETH/USDT", "mode": "manual"}
    started = httpx.post(server.url + "/api/live-training/start", json=body, timeout=30)
    assert started.status_code == 202, started.text
    sid = started.json()["session_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # one manual step (once a candle closed) to checkpoint
        label = {"action": "BUY"}
        r = httpx.post(server.url + "/api/realtime-inference/train-manual", json=label)
        if r.status_code == 200:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    assert httpx.post(server.url + "/api/live-training/stop", timeout=30).status_code == 200
    ckpts = checkpoint_dir_for(server.db_path) / sid
    aside = ckpts.with_name(ckpts.name + ".aside")
    ckpts.rename(aside)  # the checkpoint the session's progress references is gone
    try:
        page.click(".tab[data-tab='live']")
        expect(page.locator("#live-state")).to_have_attribute("data-state", "stopped")
        page.select_option("#live-mode", "manual")
        page.click("#live-start")
        state = page.locator("#live-state")
        expect(state).to_have_attribute("data-state", "failed")
        expect(state).to_contain_text("failed · checkpoint")
        expect(state).to_contain_text("missing")
        expect(state).to_have_class("pill failed")
        expect(page.locator("#error")).to_contain_text("missing")
        expect(page.locator("#live-stop")).to_be_disabled()
        expect(page.locator("#live-start")).to_be_enabled()
        shot(page, "failed-start")
        status = httpx.get(server.url + "/api/live-training/status").json()
        assert (status["state"], status["running"]) == ("failed", False)
        assert status["state_reason"] in state.inner_text()
    finally:
        aside.rename(ckpts)  # put it back: the session resumes again

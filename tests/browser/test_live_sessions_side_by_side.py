"""Several live sessions side by side in a real browser: two models on the exchange simulator,
both listed, each one's predictions routed to it, one stopped while the other keeps running.
"""

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

SYMBOL = "ETH/USDT"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The exchange simulator and a workspace streaming from it (an hour of history: the
    families' live configs read 30 1m candles)."""
    with simulated_server(
        tmp_path_factory.mktemp("side"), (SYMBOL,), seed=13, history_ms=HOUR_MS
    ) as srv:
        yield srv


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace on the 1s chart, counting the pushed predictions per session."""
    with opened_page(browser_context, f"{server.url}/?timeframe=1s&symbol={SYMBOL}") as p:
        p.evaluate(
            "(() => { const l = window.ghostcandle.live; const on = l.onPrediction.bind(l);"
            " window.__seen = {}; l.onPrediction = (p) => {"
            " window.__seen[p.session_id] = (window.__seen[p.session_id] || 0) + 1; on(p); }; })()"
        )
        yield p


def _start(page: Page, model: str) -> str:
    """Start ``model`` from the panel's form; return its session id once it runs."""
    page.select_option("#live-model", model)
    page.select_option("#live-mode", "none")
    page.click("#live-start")
    expect(page.locator("#live-state")).to_contain_text(f"running · none · {model}")
    sid: str = page.evaluate("window.ghostcandle.live.status.session_id")
    return sid


def _seen(page: Page, sid: str) -> int:
    n: int = page.evaluate(f"window.__seen[{sid!r}] || 0")
    return n


def _more_pushed(page: Page, sids: tuple[str, ...], n: int = 2) -> None:
    """Wait until ``n`` more predictions of each of ``sids`` were pushed to the page."""
    now = {sid: _seen(page, sid) for sid in sids}
    cond = " && ".join(f"(window.__seen[{sid!r}] || 0) >= {now[sid] + n}" for sid in sids)
    page.wait_for_function(cond, timeout=60_000)


def _ghost_matches(page: Page, server: Server, sid: str) -> None:
    """Check that the chart's ghosts are predictions of session ``sid`` (none of another)."""
    page.wait_for_function("window.ghostcandle.chart.ghosts.data().length > 0", timeout=60_000)
    preds = httpx.get(
        f"{server.url}/api/live-training/predictions",
        params={"session_id": sid, "timeframe": "1s", "limit": 1000},
    ).json()["predictions"]
    model = httpx.get(f"{server.url}/api/live-training/status", params={"session_id": sid}).json()[
        "model"
    ]
    closes = {p["target_time"]: p["close"] for p in preds if p["model"] == model}
    ghosts = page.evaluate("window.ghostcandle.chart.ghosts.data()")
    drawn = [g for g in ghosts if g["time"] * 1000 in closes]
    assert drawn, f"no ghost on the chart is a prediction of {sid}"
    for g in drawn:
        assert g["close"] == pytest.approx(closes[g["time"] * 1000])


def test_two_models_run_side_by_side_and_one_stops_while_the_other_runs(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='live']")
    expect(page.locator("#live-feed")).to_contain_text("connected")
    first = _start(page, "transformer")
    rows = page.locator("#live-sessions .live-session")
    expect(rows).to_have_count(1)
    # the form is freed for another session beside the running one
    page.click("#live-new")
    expect(page.locator("#live-state")).to_have_attribute("data-state", "new")
    expect(page.locator("#live-start")).to_be_enabled()
    second = _start(page, "cnn")
    assert second != first

    # both are listed, running, with their model; the panel shows the second (selected)
    expect(rows).to_have_count(2)
    one, two = (page.locator(f"#live-sessions [data-session='{s}']") for s in (first, second))
    expect(one).to_have_attribute("data-state", "running")
    expect(two).to_have_attribute("data-state", "running")
    expect(one).to_contain_text("transformer")
    expect(two).to_contain_text("cnn")
    expect(two).to_have_class("live-session selected")
    # each one's predictions are pushed with its id; the chart draws the selected one's ghosts
    page.wait_for_function(
        f"(window.__seen[{first!r}] || 0) > 0 && (window.__seen[{second!r}] || 0) > 0",
        timeout=60_000,
    )
    _more_pushed(page, (first, second))
    _ghost_matches(page, server, second)
    shot(page, "two-sessions-cnn-selected")

    # picking the first shows its state and its ghosts
    one.locator(".pick").click()
    expect(page.locator("#live-state")).to_contain_text("running · none · transformer")
    expect(one).to_have_class("live-session selected")
    # the second one's predictions of the same candles keep coming: none becomes a ghost here
    _more_pushed(page, (first, second))
    _ghost_matches(page, server, first)

    # the first stops from its row; the second keeps running and predicting
    one.locator(".stop").click()
    expect(one).to_have_attribute("data-state", "stopped")
    expect(page.locator("#live-state")).to_have_text("stopped")
    expect(two).to_have_attribute("data-state", "running")
    status = httpx.get(
        f"{server.url}/api/live-training/status", params={"session_id": second}
    ).json()
    assert status["running"] is True
    before = _seen(page, second)
    page.wait_for_function(f"(window.__seen[{second!r}] || 0) > {before}", timeout=60_000)
    two.locator(".pick").click()
    expect(page.locator("#live-state")).to_contain_text("running · none · cnn")
    _ghost_matches(page, server, second)
    shot(page, "first-stopped-second-running")
    two.locator(".stop").click()
    expect(two).to_have_attribute("data-state", "stopped")

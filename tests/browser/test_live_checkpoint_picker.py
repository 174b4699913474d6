"""The live model picker offers saved (named) checkpoints beside the families."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server, seed_database, start_server, stop_server
from ..integration.web.test_checkpoints_api import _train
from .conftest import opened_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve a database holding the named checkpoint ``kept``."""
    tmp = tmp_path_factory.mktemp("picker")
    seed_database(tmp / "ws.duckdb")
    _train(str(tmp / "ws.duckdb"), "kept")
    proc, srv = start_server(tmp)
    yield srv
    stop_server(proc)


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace."""
    with opened_page(browser_context, server.url + "/?symbol=ETH/USDT&timeframe=1m") as p:
        yield p


def test_saved_checkpoints_are_offered_and_start_by_name(
    page: Page, shot: Callable[..., Any]
) -> None:
    page.click(".tab[data-tab='live']")
    option = page.locator("#live-model optgroup[label='Saved checkpoints'] option")
    expect(option).to_have_count(1)
    expect(option).to_have_attribute("value", "ckpt:kept")
    expect(option).to_contain_text("kept (cnn, 1m)")
    # the families stay, the default marked
    expect(page.locator("#live-model option", has_text="(default)")).to_have_count(1)
    page.evaluate("document.querySelector('#live-model').value = 'ckpt:kept'")
    # a saved checkpoint holds its own family: the start names it, not a model
    assert page.evaluate("window.ghostcandle.live.picked()") == {"model": "", "start_from": "kept"}
    page.evaluate("document.querySelector('#live-model').value = 'transformer'")
    assert page.evaluate("window.ghostcandle.live.picked()") == {
        "model": "transformer",
        "start_from": "fresh",
    }
    shot(page, "picker")

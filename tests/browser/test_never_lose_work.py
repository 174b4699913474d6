"""Issue 14.1: no stray key loses a trade, and Enter in the notes box saves."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import Server
from .conftest import opened_page
from .test_workspace import click_candle

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace on a database without annotations."""
    for ann in httpx.get(f"{server.url}/api/annotations").json():
        httpx.delete(f"{server.url}/api/annotations/{ann['annotation_id']}")
    with opened_page(browser_context, server.url + "/") as p:
        yield p


def _items(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("window.ghostcandle.annotator.items"))


def test_delete_waits_for_the_draft_and_offers_undo(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    bars = page.evaluate("window.ghostcandle.chart.bars.map(b => b.time)")
    made = httpx.post(
        f"{server.url}/api/annotations",
        json={"symbol": "ETH/USDT", "timeframe": "1m", "entry_time": bars[-120],
              "exit_time": bars[-60], "notes": "keep me"},
    ).json()  # fmt: skip
    path = server.data_dir / f"annotation_{made['annotation_id']}.json"
    page.wait_for_function("window.ghostcandle.annotator.items.length === 1")
    page.locator("#ann-table tbody tr").first.click()
    expect(page.locator("#selected")).to_be_visible()

    # a new trade is being drawn: Backspace and Delete leave the selected one alone
    page.keyboard.press("a")
    click_candle(page, 0.3)
    page.keyboard.press("Backspace")
    page.keyboard.press("Delete")
    expect(page.locator("#error")).to_contain_text("being marked")
    shot(page, "delete-refused-while-drafting")
    assert len(_items(page)) == 1
    assert path.exists()
    assert httpx.get(f"{server.url}/api/annotations/{made['annotation_id']}").status_code == 200

    # no draft: Delete deletes, and Undo brings the same trade back with its notes
    page.keyboard.press("Escape")
    page.keyboard.press("Delete")
    expect(page.locator("#ann-empty")).to_be_visible()
    expect(page.locator("#undo")).to_be_visible()
    assert not path.exists()
    shot(page, "deleted-with-undo")
    page.click("#undo")
    page.wait_for_function("window.ghostcandle.annotator.items.length === 1")
    (back,) = _items(page)
    for key in ("entry_time", "exit_time", "direction", "notes", "timeframe"):
        assert back[key] == made[key]
    assert (server.data_dir / f"annotation_{back['annotation_id']}.json").exists()
    shot(page, "restored")


def test_enter_in_notes_saves_and_shift_enter_is_a_new_line(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    page.keyboard.press("a")
    click_candle(page, 0.35)
    click_candle(page, 0.6)
    expect(page.locator("#draft-save")).to_be_enabled()
    notes = page.locator("#draft-notes")
    notes.click()
    page.keyboard.type("double bottom")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("retest  ")
    shot(page, "two-lines")
    page.keyboard.press("Enter")
    page.wait_for_function("window.ghostcandle.annotator.items.length === 1")
    (ann,) = _items(page)
    assert ann["notes"] == "double bottom\nretest"
    case = json.loads((server.data_dir / f"annotation_{ann['annotation_id']}.json").read_text())
    assert case["annotation"]["notes"] == "double bottom\nretest"
    expect(page.locator("#draft")).to_be_hidden()

    # the selected trade's notes: Enter saves the change, no trailing newline is stored
    sel = page.locator("#sel-notes")
    sel.click()
    page.keyboard.press("End")
    page.keyboard.press("Control+End")
    page.keyboard.type(" twice")
    page.keyboard.press("Enter")
    expect(page.locator("#error")).to_contain_text("updated")
    got = httpx.get(f"{server.url}/api/annotations/{ann['annotation_id']}").json()
    assert got["notes"] == "double bottom\nretest twice"
    shot(page, "saved-by-enter")

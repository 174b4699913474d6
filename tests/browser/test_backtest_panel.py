"""Issue 14 item 6 in a real browser: the backtest panel's settings reach the engine, the
equity curve is drawn against buy-and-hold, the trade table and its CSV export hold the API's
trades, and the last two runs are compared side by side."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..integration.web.conftest import START, Server
from .conftest import opened_page

pytestmark = pytest.mark.browser
MIN = 60_000
PANEL = "window.ghostcandle.backtest"


@pytest.fixture
def page(browser_context: BrowserContext, server: Server) -> Iterator[Page]:
    """Open the workspace on its backtest tab with the moving-average baseline picked."""
    with opened_page(browser_context, server.url + "/") as p:
        p.click(".tab[data-tab='backtest']")
        p.select_option("#bt-model", "moving_average")
        yield p


def run(page: Page, server: Server) -> dict[str, Any]:
    """Press Backtest, wait for a new completed run in the panel; return the API's result."""
    before = page.evaluate(f"{PANEL}.runs.length ? {PANEL}.runs.at(-1).seq : 0")
    page.click("#bt-run")
    page.wait_for_function(
        f"{PANEL}.runs.length && {PANEL}.runs.at(-1).seq > {before}", timeout=90_000
    )
    state = httpx.get(server.url + "/api/backtest/status").json()
    assert state["status"] == "completed", state
    return dict(state["result"])


def figures(page: Page) -> dict[str, str]:
    dts = page.locator("#bt-figures dt").all_inner_texts()
    return dict(zip(dts, page.locator("#bt-figures dd").all_inner_texts(), strict=True))


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def type_range(page: Page, start: int, end: int) -> None:
    """Type a From/To range (UTC) into the panel."""
    page.fill("#bt-from", utc(start).replace(" ", "T"))
    page.fill("#bt-to", utc(end).replace(" ", "T"))


def test_settings_reach_the_engine_and_two_runs_compare(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    # six hours of the second day, where the moving average goes both ways
    type_range(page, START + 1440 * MIN, START + 1440 * MIN + 360 * MIN)
    first = run(page, server)
    assert first["settings"]["fee_bps"] == 10
    assert "SHORT" in {t["side"] for t in first["trades"]}, "the range trades both ways"
    assert figures(page)["Fees"] == f"${first['fees']:.2f}"
    page.fill("#bt-fee", "50")
    page.fill("#bt-slippage", "2")
    page.check("#bt-long-only")
    page.select_option("#bt-hold", "keep")
    second = run(page, server)
    changed = {"fee_bps": 50, "slippage_bps": 2, "long_only": True, "hold": "keep"}
    assert second["settings"] == {**first["settings"], **changed}
    assert second["trades"], "long-only still trades"
    assert figures(page)["Fees"] == f"${second['fees']:.2f}"
    sides = page.locator("#bt-trades tbody tr td:nth-child(3)").all_inner_texts()
    assert sides == ["LONG"] * len(second["trades"])
    # the fee per fill is 50 bps of its notional, as the table shows in cents
    fees = page.locator("#bt-trades tbody tr td:nth-child(6)").all_inner_texts()
    assert fees == [f"${t['fees']:.2f}" for t in second["trades"]]
    for t in second["trades"]:
        notional = t["size"] * (t["entry_price"] + t["exit_price"])
        assert t["fees"] == pytest.approx(notional * 50 / 10_000)
    # the two runs side by side: settings then figures
    expect(page.locator("#bt-compare")).to_be_visible()
    rows = {
        cells[0]: cells[1:]
        for cells in (
            r.locator("td").all_inner_texts() for r in page.locator("#bt-compare tbody tr").all()
        )
    }
    assert rows["Fee"] == ["10 bps", "50 bps"]
    assert rows["Slippage"] == ["0 bps", "2 bps"]
    assert rows["Long only"] == ["no", "yes"]
    assert rows["HOLD"] == ["closes", "keeps"]
    assert rows["Fees"] == [f"${first['fees']:.2f}", f"${second['fees']:.2f}"]
    assert rows["Trades"] == [str(len(first["trades"])), str(len(second["trades"]))]
    page.locator("#bt-compare").scroll_into_view_if_needed()
    shot(page, "two-runs-compared")
    # a third run pushes the first out: the latest becomes the previous
    page.uncheck("#bt-long-only")
    third = run(page, server)
    assert third["settings"]["long_only"] is False
    expect(page.locator("#bt-compare tbody tr").filter(has_text="Long only")).to_have_text(
        "Long onlyyesno"
    )


def test_equity_against_buy_and_hold_trade_table_and_csv(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    result = run(page, server)
    trades = result["trades"]
    assert trades
    # both curves drawn, one point per equity mark
    model = page.locator("#bt-equity polyline.bt-model").get_attribute("points") or ""
    hold = page.locator("#bt-equity polyline.bt-hold").get_attribute("points") or ""
    assert len(model.split()) == len(result["equity"])
    assert len(hold.split()) == len(result["buy_and_hold_equity"]) >= 2
    assert hold != model
    expect(page.locator("#bt-legend")).to_be_visible()
    # the table: a row per API trade, each with its times, side, prices, fees, P&L and return
    rows = [r.locator("td").all_inner_texts() for r in page.locator("#bt-trades tbody tr").all()]
    assert len(rows) == len(trades)
    for cells, t in zip(rows, trades, strict=True):
        assert cells[0] == utc(t["entry_time"])
        assert cells[1] == utc(t["exit_time"])
        assert cells[2] == t["side"]
        assert float(cells[3]) == pytest.approx(t["entry_price"], rel=1e-6)
        assert float(cells[4]) == pytest.approx(t["exit_price"], rel=1e-6)
        assert cells[5] == f"${t['fees']:.2f}"
        assert cells[6] == f"{'-' if t['pnl'] < 0 else ''}${abs(t['pnl']):.2f}"
        assert cells[7] == f"{'+' if t['pnl_pct'] >= 0 else ''}{t['pnl_pct']:.2f}%"
    page.locator("#bt-trades").scroll_into_view_if_needed()
    shot(page, "equity-and-trades")
    # the CSV holds the same trades at full precision
    with page.expect_download() as dl:
        page.click("#bt-csv")
    path = dl.value.path()
    assert dl.value.suggested_filename.endswith(".csv")
    got = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(got) == len(trades)
    for row, t in zip(got, trades, strict=True):
        assert datetime.fromisoformat(row["entry_time"]).timestamp() * 1000 == t["entry_time"]
        assert datetime.fromisoformat(row["exit_time"]).timestamp() * 1000 == t["exit_time"]
        assert row["side"] == t["side"]
        assert row["exit_reason"] == t["exit_reason"]
        for col, key in [
            ("size", "size"),
            ("entry_price", "entry_price"),
            ("exit_price", "exit_price"),
            ("fees", "fees"),
            ("pnl", "pnl"),
            ("return_pct", "pnl_pct"),
        ]:
            assert float(row[col]) == t[key], col


def test_typed_range_training_mode_and_bad_fee(
    page: Page, server: Server, shot: Callable[..., Any]
) -> None:
    start, end = START + 1440 * MIN + 600 * MIN, START + 1440 * MIN + 660 * MIN
    type_range(page, start, end)
    page.select_option("#bt-train", "every_candle")
    result = run(page, server)
    assert (result["start"], result["end"]) == (start, end)
    assert result["settings"]["train"] == "every_candle"
    assert result["engine"] == "loop"
    shot(page, "typed-range-training")
    # a bad fee is refused in one line naming the field; nothing runs
    runs = page.evaluate(f"{PANEL}.runs.length")
    page.fill("#bt-fee", "-5")
    page.click("#bt-run")
    expect(page.locator("#error")).to_contain_text("field 'fee_bps'")
    assert page.evaluate(f"{PANEL}.runs.length") == runs
    shot(page, "bad-fee")

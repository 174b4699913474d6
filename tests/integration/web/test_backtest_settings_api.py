"""POST /api/backtest with the panel's settings (issue 14 item 6): fees, slippage, minimum
confidence, long-only, HOLD, training mode reach the engine and come back with the result;
a bad value is one 4xx line naming the field, and nothing runs."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from .conftest import START

MIN = 60_000
#: six hours of the second seeded day: enough trades for the moving average to go both ways
RANGE = {"start": START + 1440 * MIN, "end": START + 1440 * MIN + 360 * MIN}
BASE = {"model": "moving_average", "symbol": "ETH/USDT", "timeframe": "1m", **RANGE}


def run(client: httpx.Client, **settings: Any) -> dict[str, Any]:
    """Start a backtest with ``settings`` and return its result once it completed."""
    r = client.post("/api/backtest", json={**BASE, **settings})
    assert r.status_code == 202, r.text
    seq = r.json()["seq"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = client.get("/api/backtest/status").json()
        if state["seq"] > seq and state["status"] in ("completed", "failed"):
            assert state["status"] == "completed", state
            return dict(state["result"])
        time.sleep(0.2)
    raise AssertionError("the backtest did not finish in 120 s")


def test_settings_reach_the_broker_and_come_back(client: httpx.Client) -> None:
    plain = run(client)
    assert plain["settings"] == {
        "fee_bps": 10.0,
        "slippage_bps": 0.0,
        "min_confidence": 0.0,
        "long_only": False,
        "hold": "flat",
        "train": "none",
        "start_from": "fresh",
    }
    sides = {t["side"] for t in plain["trades"]}
    assert sides == {"LONG", "SHORT"}, "the range must give trades both ways to test long-only"
    assert plain["fees"] == pytest.approx(sum(t["fees"] for t in plain["trades"]))

    free = run(client, fee_bps=0)
    assert free["fees"] == 0
    assert all(t["fees"] == 0 for t in free["trades"])
    dear = run(client, fee_bps=50, slippage_bps=5)
    assert dear["settings"]["fee_bps"] == 50
    assert dear["settings"]["slippage_bps"] == 5
    for t in dear["trades"]:  # 50 bps of each fill's notional
        notional = t["size"] * (t["entry_price"] + t["exit_price"])
        assert t["fees"] == pytest.approx(notional * 50 / 10_000)
    assert dear["pnl"] < free["pnl"]

    long_only = run(client, long_only=True)
    assert long_only["settings"]["long_only"] is True
    assert long_only["trades"]
    assert {t["side"] for t in long_only["trades"]} == {"LONG"}

    keep = run(client, hold="keep", min_confidence=0.5)
    assert (keep["settings"]["hold"], keep["settings"]["min_confidence"]) == ("keep", 0.5)


def test_buy_and_hold_curve_beside_the_equity_curve(client: httpx.Client) -> None:
    r = run(client)
    hold = r["buy_and_hold_equity"]
    assert [p["time"] for p in hold] == [p["time"] for p in r["equity"]]
    first, last = hold[0]["value"], hold[-1]["value"]
    assert first > 0
    assert last != first
    # the curve ends where the buy-and-hold figure says (10,000 at the start)
    assert (last / 10_000 - 1) * 100 == pytest.approx(r["buy_and_hold_pct"], abs=1e-6)


def test_training_mode_replays_candle_by_candle(client: httpx.Client) -> None:
    short = {**RANGE, "end": RANGE["start"] + 60 * MIN}
    r = run(client, train="every_candle", **short)
    assert r["settings"]["train"] == "every_candle"
    assert r["engine"] == "loop"
    assert run(client, **short)["engine"] == "batched"


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        ("fee_bps", -1, 422),
        ("fee_bps", 10_000, 422),
        ("fee_bps", "ten", 422),
        ("slippage_bps", -0.5, 422),
        ("min_confidence", 1.5, 422),
        ("long_only", "perhaps", 422),
        ("hold", "sometimes", 422),
        ("train", "weekly", 422),
        ("train", "manual", 400),
    ],
)
def test_a_bad_setting_is_one_line_and_runs_nothing(
    client: httpx.Client, field: str, value: Any, status: int
) -> None:
    before = client.get("/api/backtest/status").json()
    r = client.post("/api/backtest", json={**BASE, field: value})
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert "\n" not in detail
    assert len(detail) < 300
    assert (field if status == 422 else "training mode") in detail
    assert client.get("/api/backtest/status").json().get("seq") == before.get("seq")

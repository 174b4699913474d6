"""Issue 14.2: a test case holds 100 closed candles per timeframe ending at the entry, rolled up
from lower candles or fetched from the exchange when missing, and says how complete it is."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS, MINUTE_MS, format_time
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

from .conftest import simulated_server

T0 = 1_709_251_200_000  # 2024-03-01T00:00Z
SYMBOL = "ETH/USDT"


def test_missing_hours_are_rolled_up_from_the_stored_minutes(db: Database, tmp_path: Path) -> None:
    candles = CandleStore(db)
    days = 5
    df = synthetic_candles(days * 1440, "1m", start_ms=T0, seed=3)
    candles.write(SYMBOL, "1m", df, provenance=CandleSource.FILE)  # no 1h or 1d stored
    store = AnnotationStore(db, candles, tmp_path / "cases", ReplayClock(T0 + days * DAY_MS))
    entry = T0 + (days - 1) * DAY_MS + 12 * HOUR_MS  # noon of the last day
    ann = store.create(SYMBOL, "1m", entry, entry + 30 * MINUTE_MS)
    case = json.loads(store.test_case_path(ann.annotation_id).read_text())
    decision = entry + MINUTE_MS
    hours = case["market_state"]["ohlcv_1h"]
    assert len(hours["close"]) == 100
    # the newest hour is the last one closed at the entry, none later
    assert hours["timestamps"][-1] == format_time(decision - decision % HOUR_MS - HOUR_MS)
    # each rolled-up hour is its 60 minutes
    first = T0 + (days - 1) * DAY_MS + 11 * HOUR_MS
    minutes = candles.read(SYMBOL, "1m", first, first + HOUR_MS - 1)
    assert hours["high"][-1] == minutes["high"].max()
    assert abs(hours["volume"][-1] - minutes["volume"].sum()) < 1e-9
    # four whole days closed before the entry: all of them, and the case says it is short
    assert len(case["market_state"]["ohlcv_1d"]["close"]) == days - 1
    assert case["completeness"] == {
        "candles": {"1s": 0, "1m": 100, "1h": 100, "1d": days - 1},
        "wanted": 100,
        "complete": False,
    }
    assert ann.to_json()["completeness"]["1h"] == 100


def test_missing_seconds_are_fetched_from_the_exchange(tmp_path: Path) -> None:
    # 4 h of simulated history; the feed loads the newest 1,000 candles (1s: the last ~17 min)
    with simulated_server(tmp_path, (SYMBOL,), seed=5, history_ms=4 * HOUR_MS) as srv:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            deadline = time.monotonic() + 60
            q = {"symbol": SYMBOL, "timeframe": "1m", "limit": 1000}
            while len(c.get("/api/candles", params=q).json().get("candles", [])) < 200:
                assert time.monotonic() < deadline, "the feed did not store its 1m history"
                time.sleep(0.5)
            now = int(time.time() * 1000)
            entry = now - now % MINUTE_MS - 60 * MINUTE_MS  # an hour ago: no 1s stored then
            seconds = {"symbol": SYMBOL, "timeframe": "1s", "before": entry, "limit": 10}
            assert c.get("/api/candles", params=seconds).json()["candles"] == []
            preview = c.post(
                "/api/annotations/preview",
                json={"symbol": SYMBOL, "timeframe": "1m", "entry_time": entry,
                      "exit_time": entry + 5 * MINUTE_MS},
            )  # fmt: skip
            assert preview.status_code == 200, preview.text
            assert preview.json()["completeness"]["1s"] == 100
            made = c.post(
                "/api/annotations",
                json={"symbol": SYMBOL, "timeframe": "1m", "entry_time": entry,
                      "exit_time": entry + 5 * MINUTE_MS},
            ).json()  # fmt: skip
        case = json.loads(Path(made["test_case_file"]).read_text())
    secs = case["market_state"]["ohlcv_1s"]
    assert len(secs["close"]) == 100 == made["completeness"]["1s"]
    decision = entry + MINUTE_MS
    assert secs["timestamps"][-1] == format_time(decision - 1000)
    assert len(case["market_state"]["ohlcv_1m"]["close"]) == 100

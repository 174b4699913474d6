"""``ghostcandle evaluate`` on a replay over real ETH/USDT data: every figure, in JSON and text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.candles import candles_from_frame
from ghostcandle.domain.performance import buy_and_hold, periods_per_year, summarise
from ghostcandle.domain.timeframes import HOUR_MS, MINUTE_MS, format_time
from ghostcandle.models.registry import baseline_names
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

START = 1_722_470_400_000  # 2024-08-01T00:00Z, days into the real file
END = START + 2 * HOUR_MS
FIELDS = ("open", "high", "low", "close", "volume")


def test_evaluate_json_on_a_real_replay(
    tmp_path: Path, eth_1m_2024: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "real.duckdb"
    assert main(["ingest", "--db", str(db), str(eth_1m_2024)]) == 0
    args = [
        "replay", "--db", str(db), "--symbol", "ETH/USDT", "--from", format_time(START),
        "--to", format_time(END), "--model", "cnn", "--mode", "none", "--timeframes", "1m",
        "--window", "1m=30", "--json",
    ]  # fmt: skip
    capsys.readouterr()
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert main(["evaluate", "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ev = report["evaluation"]
    assert ev == summary["evaluation"]  # the replay summary carries the very same figures

    targets = (END - MINUTE_MS - START) // MINUTE_MS
    cnn = ev["cnn"]["1m"]
    assert cnn["n"] == targets
    assert cnn["status"] == "ok"
    # the session's baselines are the registered families that never learn
    assert cnn["baselines"] == [b for b in baseline_names() if b in ev]
    assert "cnn" not in cnn["baselines"]
    for field in FIELDS:
        for side in ("vs_persistence", "vs_strongest"):
            c = cnn["skill"][field][side]
            assert c["n"] == targets
            assert c["skill"] > 0
            assert 0.0 <= c["dm"]["p_value"] <= 1.0
            assert c["dm"]["lag"] == 4  # floor(119 ** (1/3))
        best = cnn["skill"][field]["vs_strongest"]
        # the strongest has the lowest MAE of the session's baselines on that field
        maes = {b: ev[b]["1m"][f"mae_{field}"] for b in cnn["baselines"]}
        assert best["mae_baseline"] == pytest.approx(min(maes.values()))
        assert maes[best["baseline"]] == pytest.approx(min(maes.values()))
    assert ev["persistence"]["1m"]["skill"]["close"]["vs_persistence"]["dm"]["p_value"] == 1.0
    d = cnn["directional"]
    assert d["ci95"][0] <= d["accuracy"] <= d["ci95"][1]
    assert 0.0 <= d["p_value"] <= 1.0
    a = cnn["action"]
    assert sum(a["labels"].values()) == targets
    assert a["accuracy"] == pytest.approx(cnn["action_accuracy"])
    assert 0.0 <= a["brier"] <= 2.0
    assert 0.0 <= a["ece"] <= 1.0
    assert 0.0 <= cnn["coverage"]["both"] <= cnn["coverage"]["high"] <= 1.0

    # buy-and-hold over the stored candles that were the targets, through the default broker
    trading = cnn["trading"]["ETH/USDT"]
    assert START < trading["first_target"] < trading["last_target"] < END
    with Database(db, read_only=True) as con:
        df = CandleStore(con).read(
            "ETH/USDT", "1m", trading["first_target"], trading["last_target"]
        )
    candles = candles_from_frame("ETH/USDT", "1m", df)
    assert len(candles) == targets == trading["n"]
    cfg = BrokerConfig()
    bh = summarise(*buy_and_hold(candles, cfg), cfg.initial_equity, periods_per_year("1m"))
    assert trading["buy_and_hold"]["return_pct"] == pytest.approx(bh.return_pct)
    assert trading["flat"]["return_pct"] == 0.0
    assert trading["broker"]["fee_bps"] == cfg.fee_bps
    assert trading["vs_buy_and_hold_pct"] == pytest.approx(
        trading["model"]["return_pct"] - bh.return_pct
    )

    # the text: one table per timeframe, the strongest baselines named
    assert main(["evaluate", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    assert "\n1m:\n" in text
    assert "close/best" in text
    assert "strongest baseline (lowest MAE)" in text
    assert max(len(line) for line in text.splitlines()[:-1]) < 240


def test_evaluate_without_predictions_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "none.duckdb"
    with Database(db):
        pass
    assert main(["evaluate", "--db", str(db), "--session", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "run `ghostcandle replay`" in err

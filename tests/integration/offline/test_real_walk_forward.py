"""A small walk-forward over real Binance ETH/USDT 1m candles, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.timeframes import DAY_MS, format_time
from ghostcandle.models.registry import baseline_names

#: 2024-07-27T12:00Z: the real file starts at 07-26T14:16Z, so every 1h window is whole from here
START = 1_722_081_600_000
END = START + 3 * DAY_MS


def test_walk_forward_on_real_eth_data(
    tmp_path: Path, eth_1m_2024: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "real.duckdb"
    assert main(["ingest", "--db", str(db), str(eth_1m_2024)]) == 0
    capsys.readouterr()
    config = {"windows": {"1m": 60, "1h": 12}, "d_model": 16, "layers": 1, "heads": 2}
    argv = [
        "train", "--db", str(db), "--model", "transformer", "--symbol", "ETH/USDT",
        "--timeframes", "1m,1h", "--from", format_time(START), "--to", format_time(END),
        "--epochs", "3", "--walk-forward", "train=1d,test=12h",
        "--model-config", json.dumps(config), "--json",
    ]  # fmt: skip
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    folds = out["folds"]
    assert len(folds) == 4
    for f in folds:
        assert f["train"][1] == f["test"][0]
        # a real day of 1m candles holds no gap: every minute of the window is a decision
        assert f["train_samples"] + f["val_samples"] == 24 * 60
        assert f["test_samples"] == 12 * 60
        model = f["evaluation"]["transformer"]["1m"]
        assert model["n"] == 12 * 60
        assert model["skill"]["close"]["vs_persistence"]["n"] == 12 * 60
    agg = out["aggregate"]["evaluation"]
    assert set(agg) == {"transformer", *baseline_names()}
    figures = agg["transformer"]["1m"]
    assert figures["n"] == out["aggregate"]["test_samples"] == 4 * 12 * 60
    assert figures["status"] == "ok"
    close = figures["skill"]["close"]["vs_persistence"]
    assert close["skill"] is not None
    assert close["skill"] > 0
    assert close["dm"]["p_value"] is not None
    # a model that learnt anything keeps its forecasts near the price: within 1% on average
    assert figures["mae_close"] < 0.01 * 3300

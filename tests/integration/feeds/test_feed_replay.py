"""The simulator replaying a candle file at N x speed: the feed stores exactly its candles."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostcandle.cli.commands.exchange_sim import build_market
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

T0 = 1_704_067_200_000  # 2024-01-01


def test_replay_of_a_file_streams_its_candles_into_the_store(
    tmp_path: Path, db: Database, run_feed
):
    source = synthetic_candles(400, "1m", start_ms=T0, seed=5)
    path = tmp_path / "ETHUSDT-1m-2024-01.csv"
    source.to_csv(path, index=False)
    market, sim_start = build_market(str(path), ("ETH/USDT",), ("1m", "1h"), 1, 3_600_000)
    assert market.intervals == ("1m", "1h")
    assert sim_start == T0 + 3_600_000  # the first hour is history, then the replay runs
    sim = ExchangeSimulator(market, SimulatorConfig(speed=600.0), sim_start_ms=sim_start).start()
    try:
        run_feed(db, sim, 3.0, history_candles=60)
    finally:
        sim.stop()
    stored = CandleStore(db).read("ETH/USDT", "1m")
    assert len(stored) >= 60 + 20  # history plus at least 20 streamed minutes (10 a second)
    first = int((stored["open_time"].iloc[0] - T0) // 60_000)
    want = source.iloc[first : first + len(stored)].reset_index(drop=True)
    for col in ("open_time", "open", "high", "low", "close", "volume"):
        assert stored[col].tolist() == want[col].tolist(), col


def test_replay_refuses_intervals_finer_than_the_file(tmp_path: Path):
    path = tmp_path / "ETHUSDT-1h-2024-01.csv"
    synthetic_candles(10, "1h", start_ms=T0, seed=5).to_csv(path, index=False)
    with pytest.raises(UserInputError, match="intervals"):
        build_market(str(path), ("ETH/USDT",), ("1m",), 1, 0)

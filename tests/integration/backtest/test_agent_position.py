"""An agent reads the position it holds, and both backtest paths give it the same one.

A DQN's action depends on the position held going into each decision. The batched backtest
asks it once per possible position and walks the broker; the loop backtest asks it candle by
candle with the position of the broker trading its signals. Both must make the same trades.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestService
from ghostcandle.engine.trading.batched_signals import decision_windows
from ghostcandle.models.inputs import prepare_stacked_inputs
from ghostcandle.models.position_input import POSITIONS, with_position
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
CONFIG = {"timeframes": ["1m"], "windows": {"1m": 30}, "hidden": 16}


def test_the_batched_and_loop_backtests_give_an_agent_the_same_positions(db: Database) -> None:
    CandleStore(db).write(
        SYMBOL,
        "1m",
        synthetic_candles(400, "1m", start_ms=T0, seed=5),
        provenance=CandleSource.FILE,
    )
    svc = BacktestService(db)
    req = None
    for seed in range(20):  # an untrained agent whose answers on these candles depend on it
        req = BacktestRequest(
            model="dqn", symbol=SYMBOL, timeframe="1m", start=T0 + 40 * M, end=T0 + 380 * M,
            model_config={**CONFIG, "seed": seed}, broker=BrokerConfig(min_confidence=0.0),
        )  # fmt: skip
        model, candles = svc.check(req)
        closes = np.array([c.close_time for c in candles], dtype=np.int64)
        d = duration_ms("1m")
        found = decision_windows(
            CandleStore(db), SYMBOL, "1m", closes[closes + d <= req.end], model.windows
        )
        inputs, _ = prepare_stacked_inputs(found.raw(np.flatnonzero(found.complete)))
        acts = [model.predict(with_position(inputs, p)).actions for p in POSITIONS]
        if any(not np.array_equal(acts[0], a) for a in acts[1:]):
            break
    else:
        raise AssertionError("no seed makes the agent's answers depend on its position")
    assert req is not None
    batched = svc.run(req)
    loop = svc.run(dataclasses.replace(req, batched=False))
    assert batched.trades, "the agent should trade on this market"
    key = [(t.side, t.entry_time, t.exit_time) for t in batched.trades]
    assert key == [(t.side, t.entry_time, t.exit_time) for t in loop.trades]
    assert batched.performance.return_pct == loop.performance.return_pct

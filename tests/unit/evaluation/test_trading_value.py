"""Trading value equals the broker driven directly, as a backtest drives it, candle by candle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker import Broker, BrokerConfig
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.performance import buy_and_hold, periods_per_year, summarise
from ghostcandle.engine.evaluation.trading_value import follow, trading_value

from .conftest import SYM, T0, M, ledger, market, persistence


def _candles(rows: np.ndarray, keep: np.ndarray) -> list[Candle]:
    return [
        Candle(SYM, "1m", T0 + i * M, *(float(v) for v in rows[i]))
        for i in range(len(rows))
        if keep[i]
    ]


def _backtest(rows: np.ndarray, actions: list[str], cfg: BrokerConfig) -> Broker:
    """Run the broker as a backtest does: hand each candle over, then act at its close."""
    broker = Broker(cfg)
    for i, c in enumerate(_candles(rows, np.ones(len(rows), dtype=bool))):
        broker.on_candle(c)
        if i < len(actions):
            broker.on_signal(SYM, c.close_time, Action[actions[i]])
    broker.finish()
    return broker


def _actions(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [str(a) for a in rng.choice(["HOLD", "BUY", "SELL"], n, p=[0.5, 0.3, 0.2])]


CONFIGS = [BrokerConfig(), BrokerConfig(hold="keep", slippage_bps=5.0, allow_short=False)]


@pytest.mark.parametrize("cfg", CONFIGS, ids=["default", "keep-slippage-long-only"])
def test_follow_equals_a_backtest_style_broker_run(cfg: BrokerConfig) -> None:
    n = 400
    rows = market(n, seed=7)
    actions = _actions(n, 7)
    g = ledger("cnn", rows, persistence(rows), actions=actions)
    g["confidence"] = 1.0
    out = follow(g, SYM, "1m", cfg)
    broker = _backtest(rows, actions, cfg)
    # the backtest also saw the first decision candle: same trades, same money
    assert out["model"]["trades"] == len(broker.trades) > 10
    assert out["model"]["final_equity"] == pytest.approx(broker.equity_curve[-1].equity)
    assert out["model"]["fees"] == pytest.approx(sum(t.fees for t in broker.trades))
    targets = _candles(rows, np.ones(n + 1, dtype=bool))[1:]
    bh = summarise(*buy_and_hold(targets, cfg), cfg.initial_equity, periods_per_year("1m"))
    assert out["buy_and_hold"] == bh.to_json()
    assert out["vs_buy_and_hold_pct"] == pytest.approx(out["model"]["return_pct"] - bh.return_pct)
    assert out["flat"]["return_pct"] == 0.0
    assert out["n"] == n
    assert out["broker"]["hold"] == cfg.hold


def test_a_gap_delays_the_fill_to_the_next_traded_candle() -> None:
    n, cfg = 300, BrokerConfig()
    rows = market(n, seed=9)
    actions = _actions(n, 9)
    missing = np.zeros(n + 1, dtype=bool)
    missing[[50, 51, 200]] = True
    # a prediction resolves when its target exists and was decided at an existing close
    resolved = ~missing[1:] & ~missing[:-1]
    g = ledger("cnn", rows, persistence(rows), actions=actions, keep=resolved)
    g["confidence"] = 1.0
    out = follow(g, SYM, "1m", cfg)
    # the broker driven directly over the decision candle and the resolved targets
    broker = Broker(cfg)
    broker.on_candle(_candles(rows, np.arange(n + 1) == 0)[0])
    for i in np.flatnonzero(resolved):
        broker.on_signal(SYM, T0 + (i + 1) * M, Action[actions[i]])
        broker.on_candle(Candle(SYM, "1m", T0 + (i + 1) * M, *(float(v) for v in rows[i + 1])))
    broker.finish()
    assert out["n"] == int(resolved.sum()) == n - 5
    assert out["model"]["trades"] == len(broker.trades)
    assert out["model"]["final_equity"] == pytest.approx(broker.equity_curve[-1].equity)


def test_always_hold_under_the_default_broker_stays_flat() -> None:
    rows = market(60, seed=8)
    g = ledger("persistence", rows, persistence(rows), actions=["HOLD"] * 60)
    out = follow(g, SYM, "1m", BrokerConfig())
    assert out["model"]["trades"] == 0
    assert out["model"]["return_pct"] == 0.0


def test_a_target_predicted_twice_is_traded_once() -> None:
    rows = market(80, seed=10)
    g = ledger("cnn", rows, persistence(rows), actions=_actions(80, 10))
    twice = pd.concat([g, g.iloc[10:20]])  # two sessions pooled
    out = trading_value(twice, "1m", BrokerConfig(), {})
    assert out[SYM]["n"] == 80
    assert out[SYM]["model"] == trading_value(g, "1m", BrokerConfig(), {})[SYM]["model"]

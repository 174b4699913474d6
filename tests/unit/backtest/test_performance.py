"""Performance figures against hand-computed values and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghostcandle.domain.broker import BrokerConfig, EquityPoint, Trade
from ghostcandle.domain.candles import candles_from_frame
from ghostcandle.domain.performance import (
    buy_and_hold,
    max_drawdown_pct,
    periods_per_year,
    sharpe_ratio,
    summarise,
)
from ghostcandle.domain.synthetic import synthetic_candles


def _trade(pnl: float) -> Trade:
    return Trade("X", "LONG", 1.0, 0, 100.0, 1, 100.0 + pnl, 0.5, 0.25, pnl, "signal")


def test_win_rate_profit_factor_and_fees() -> None:
    trades = [_trade(30.0), _trade(-10.0), _trade(20.0), _trade(-15.0)]
    curve = [EquityPoint(i, 1000.0 + i, i % 2 == 0) for i in range(1, 5)]
    p = summarise(trades, curve, 1000.0, 365.0)
    assert p.trades == 4
    assert p.win_rate == 0.5
    assert p.profit_factor == pytest.approx(50.0 / 25.0)
    assert p.fees == pytest.approx(4 * 0.75)
    assert p.exposure_pct == 50.0
    assert p.pnl == pytest.approx(4.0)
    assert p.final_equity == 1004.0
    assert p.return_pct == pytest.approx(0.4)


def test_no_trades_and_no_losses_are_explicit() -> None:
    p = summarise([], [], 1000.0, 365.0)
    assert (p.trades, p.win_rate, p.pnl, p.sharpe, p.profit_factor) == (0, 0.0, 0.0, 0.0, None)
    assert summarise([_trade(5.0)], [], 1000.0, 365.0).profit_factor is None


def test_max_drawdown_counts_the_initial_equity_as_a_peak() -> None:
    assert max_drawdown_pct(100.0, [90.0, 120.0, 60.0, 130.0]) == pytest.approx(50.0)
    assert max_drawdown_pct(100.0, [80.0, 95.0]) == pytest.approx(20.0)
    assert max_drawdown_pct(100.0, [101.0, 102.0]) == 0.0


def test_sharpe_matches_numpy() -> None:
    rng = np.random.default_rng(4)
    eq = 1000.0 * np.cumprod(1 + rng.normal(0.001, 0.01, size=200))
    rets = np.diff(np.r_[1000.0, eq]) / np.r_[1000.0, eq][:-1]
    expected = rets.mean() / rets.std(ddof=1) * math.sqrt(8760.0)
    assert sharpe_ratio(1000.0, list(eq), periods_per_year("1h")) == pytest.approx(expected)
    assert sharpe_ratio(1000.0, [1000.0, 1000.0], 365.0) == 0.0


def test_buy_and_hold_matches_its_closed_form() -> None:
    df = synthetic_candles(300, "1m", start_ms=0, seed=9)
    candles = candles_from_frame("X", "1m", df)
    cfg = BrokerConfig(fee_bps=10.0, slippage_bps=5.0, position_fraction=0.6, initial_equity=5000)
    trades, curve = buy_and_hold(candles, cfg)
    (t,) = trades
    e, f, fee, s = 5000.0, 0.6, 0.001, 0.0005
    o, c = candles[0].open, candles[-1].close
    expected_final = e * (1 - f - f * fee) + f * e * c * (1 - s) * (1 - fee) / (o * (1 + s))
    assert curve[-1].equity == pytest.approx(expected_final, rel=1e-12)
    assert (t.entry_time, t.exit_time) == (candles[0].open_time, candles[-1].close_time)
    size = f * e / (o * (1 + s))
    closes = np.array([x.close for x in candles])
    marked = e * (1 - f - f * fee) + size * closes
    np.testing.assert_allclose([p.equity for p in curve[:-1]], marked[:-1], rtol=1e-12)
    p = summarise(trades, curve, cfg.initial_equity, periods_per_year("1m"))
    assert p.exposure_pct == 100.0
    assert p.trades == 1
    assert p.return_pct == pytest.approx((expected_final / e - 1) * 100)

"""Outcomes on synthetic candle paths whose answers are worked out by hand below."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker_config import BrokerConfig
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.outcomes import DEFAULT_HORIZONS, OutcomeConfig, outcomes_on_series

M = 60_000
T = 1_722_000_000_000 - 1_722_000_000_000 % M  # a 1m close
COST = 0.002


def series(rows: list[tuple[float, float, float, float]], first_open: int) -> tuple[
    np.ndarray, np.ndarray
]:  # fmt: skip
    """Return consecutive 1m candles (open, high, low, close, volume) from ``first_open``."""
    t = first_open + M * np.arange(len(rows), dtype=np.int64)
    v = np.array([[*r, 1.0] for r in rows], dtype=np.float64)
    return t, v


def one(rows: list[tuple[float, float, float, float]], taken: Action | None = None, **kw: object):
    """Measure the decision at ``T`` over ``rows``: the decision's own candle, then the horizon."""
    t, v = series(rows, T - M)
    cfg = OutcomeConfig(cost=kw.pop("cost", COST))
    return outcomes_on_series(
        t, v, "1m", np.array([T]), len(rows) - 1, cfg,
        taken=None if taken is None else np.array([int(taken)]), **kw,
    )  # fmt: skip


UP = [
    (99.0, 100.2, 98.9, 100.0),  # the decision's candle: c0 = 100
    (100.0, 101.0, 99.5, 100.5),
    (100.5, 102.5, 100.2, 102.0),
    (102.0, 102.2, 100.9, 101.0),  # close_h = 101
]


def test_up_path_by_hand() -> None:
    o = one(UP, Action.BUY)
    assert o.complete[0]
    assert o.ref_close[0] == 100.0
    assert o.forward_return[0] == pytest.approx(101 / 100 - 1)  # 0.01
    assert o.mfe[0] == pytest.approx(102.5 / 100 - 1)  # best high 102.5
    assert o.mae[0] == pytest.approx(99.5 / 100 - 1)  # worst low 99.5
    # long: 0.025 - 0.002 = 0.023 beats short: 0.005 - 0.002 = 0.003
    assert Action(int(o.best_action[0])) is Action.BUY
    assert o.best_profit[0] == pytest.approx(0.023)
    assert o.taken_profit[0] == pytest.approx(0.01 - COST)
    # fewer than 20 earlier candles: no volatility, the unit is the cost
    assert o.unit[0] == pytest.approx(COST)
    assert o.profitability[0] == pytest.approx(1 / (1 + math.exp(-(0.01 - COST) / COST)))
    assert o.is_profitable[0]


def test_taken_action_profit_short_and_flat() -> None:
    assert one(UP, Action.SELL).taken_profit[0] == pytest.approx(-0.01 - COST)
    assert one(UP, Action.HOLD).taken_profit[0] == 0.0
    assert np.isnan(one(UP).taken_profit[0])  # no action taken


def test_down_path_is_a_short_setup() -> None:
    down = [(101, 101, 99.9, 100.0), (100, 100.3, 98, 98.5), (98.5, 99, 97.0, 97.5)]
    o = one(down, Action.SELL)
    assert o.forward_return[0] == pytest.approx(-0.025)
    assert o.mfe[0] == pytest.approx(0.003)  # the long's best: 100.3
    assert o.mae[0] == pytest.approx(-0.03)  # the long's worst: 97 (the short's best)
    assert Action(int(o.best_action[0])) is Action.SELL  # 0.03 - k beats 0.003 - k
    assert o.best_profit[0] == pytest.approx(0.03 - COST)
    assert o.taken_profit[0] == pytest.approx(0.025 - COST)


def test_hindsight_action_at_the_cost_boundary() -> None:
    # 9.765625 bps a fill: a round trip of exactly 2^-9, so every figure below is exact
    k = BrokerConfig(fee_bps=9.765625).round_trip_cost
    assert k == 2.0**-9
    own = (1.0, 1.0, 1.0, 1.0)
    at_cost = [own, (1.0, 1.0 + k, 1.0 - k / 2, 1.0)]
    assert Action(int(one(at_cost, cost=k).best_action[0])) is Action.HOLD  # nets exactly 0
    above = [own, (1.0, 1.0 + k + 2.0**-20, 1.0 - k / 2, 1.0)]
    assert Action(int(one(above, cost=k).best_action[0])) is Action.BUY
    below = [own, (1.0, 1.0 + k / 2, 1.0 - k - 2.0**-20, 1.0)]
    assert Action(int(one(below, cost=k).best_action[0])) is Action.SELL
    tie = [own, (1.0, 1.0 + 2 * k, 1.0 - 2 * k, 1.0)]
    assert Action(int(one(tie, cost=k).best_action[0])) is Action.BUY  # a tie goes long
    flat = one([own, own], cost=k)
    assert flat.profitability[0] < 0.5
    assert not flat.is_profitable[0]


def test_volatility_unit_from_the_candles_before_the_decision() -> None:
    # 21 closes alternating 100, 101: 20 log returns of +-a, mean 0, so s = a sqrt(20 / 19)
    closes = [100.0 if i % 2 == 0 else 101.0 for i in range(21)]
    hist = [(c, c + 0.5, c - 0.5, c) for c in closes[:-1]]
    c0 = closes[-1]
    rows = [(c0, c0 + 0.5, c0 - 0.5, c0), (c0, 104.0, c0, 103.0), (103.0, 103.5, 102.0, 102.0)]
    t, v = series(hist + rows, T - 21 * M)
    o = outcomes_on_series(t, v, "1m", np.array([T]), 2, OutcomeConfig(cost=COST))
    a = math.log(101 / 100)
    unit = a * math.sqrt(20 / 19) * math.sqrt(2)
    assert o.unit[0] == pytest.approx(unit)
    r = 102.0 / c0 - 1
    assert o.profitability[0] == pytest.approx(1 / (1 + math.exp(-(abs(r) - COST) / unit)))


def test_missing_candle_is_incomplete_and_later_candles_are_never_read() -> None:
    t, v = series(UP, T - M)
    gap = outcomes_on_series(np.delete(t, 2), np.delete(v, 2, 0), "1m", np.array([T]), 3,
                             OutcomeConfig())  # fmt: skip
    assert not gap.complete[0]
    # candles after the horizon (and a shorter horizon's tail) change nothing
    more_t, more_v = series([*UP, (101.0, 150.0, 50.0, 120.0)], T - M)
    a = outcomes_on_series(t, v, "1m", np.array([T]), 3, OutcomeConfig())
    b = outcomes_on_series(more_t, more_v, "1m", np.array([T]), 3, OutcomeConfig())
    for f in ("forward_return", "mfe", "mae", "best_action", "profitability"):
        assert getattr(a, f)[0] == getattr(b, f)[0]


def test_rapid_move_inside_the_horizon_only() -> None:
    known_at = T + 3 * M
    for times, expected in (([T - M], False), ([T], True), ([known_at], True),
                            ([known_at + M], False), ([T - M, T + M], True)):  # fmt: skip
        o = one(UP, rapid_times=np.array(times, np.int64))
        assert bool(o.rapid_move[0]) is expected, times


def test_config_defaults_and_bad_input() -> None:
    cfg = OutcomeConfig()
    assert [cfg.horizon(tf) for tf in ("1s", "1m", "1h")] == [60, 15, 4]
    assert cfg.horizon("1d") == DEFAULT_HORIZONS["1d"]
    assert cfg.with_horizon("1m", 5).horizon("1m") == 5
    assert cfg.grace_ms("1s", 60) == 5 * M  # at least five minutes
    assert cfg.grace_ms("1h", 4) == 4 * 3_600_000  # else as long as the horizon
    with pytest.raises(UserInputError, match="horizon"):
        OutcomeConfig(horizons={"1m": 0})
    with pytest.raises(UserInputError, match="unknown timeframe"):
        OutcomeConfig(horizons={"7m": 3})

"""A tracked broker's figures are a plain broker's, float for float (``domain.equity_track``).

The same seeded walks (two symbols closing together, so points are marked again at one time;
fills at the next open and at the close; HOLD as flat and as keep; positions left open or
closed at the end) go through ``Broker`` + ``summarise`` and ``TrackedBroker`` +
``summarise_track``; buy-and-hold likewise.
"""

from __future__ import annotations

import numpy as np
import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker import Broker, BrokerConfig
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.equity_track import TrackedBroker, summarise_track, tracked_buy_and_hold
from ghostcandle.domain.performance import buy_and_hold, periods_per_year, summarise

MINUTE = 60_000
CONFIGS = [
    BrokerConfig(),
    BrokerConfig(fill="close", close_at_end=False),
    BrokerConfig(hold="keep", allow_short=False, min_confidence=0.5),
    BrokerConfig(cooldown=3, position_fraction=0.5),
]


def _walk(seed: int, n: int = 400) -> list[tuple[Candle, Action, float]]:
    rng = np.random.default_rng(seed)
    out = []
    price = {"A/USDT": 100.0, "B/USDT": 50.0}
    for i in range(n):
        for symbol, o in list(price.items()):
            c = o * float(np.exp(rng.normal(0, 0.01)))
            price[symbol] = c
            candle = Candle(
                symbol, "1m", i * MINUTE, o, max(o, c) * 1.001, min(o, c) * 0.999, c, 1.0
            )
            out.append((candle, list(Action)[int(rng.integers(3))], float(rng.uniform())))
    return out


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1])
def test_a_tracked_broker_gives_the_figures_of_its_curve(config: BrokerConfig, seed: int) -> None:
    walk = _walk(seed)
    plain, tracked = Broker(config), TrackedBroker(config)
    for broker in (plain, tracked):
        for candle, action, confidence in walk:
            if candle.open_time:  # decided at the close before: filled at this open
                broker.on_signal(candle.symbol, candle.open_time, action, confidence)
            broker.on_candle(candle)
        broker.finish()
    per_year = periods_per_year("1m")
    want = summarise(plain.trades, plain.equity_curve, config.initial_equity, per_year)
    got = summarise_track(tracked.trades, tracked.track, config.initial_equity, per_year)
    assert want.trades > 3
    assert got == want
    assert len(tracked.track) == len(plain.equity_curve)
    assert tracked.equity_curve == []


@pytest.mark.parametrize("config", CONFIGS[:2])
def test_tracked_buy_and_hold_is_buy_and_hold(config: BrokerConfig) -> None:
    candles = [c for c, _, _ in _walk(3) if c.symbol == "A/USDT"]
    per_year = periods_per_year("1m")
    want = summarise(*buy_and_hold(candles, config), config.initial_equity, per_year)
    got = summarise_track(*tracked_buy_and_hold(candles, config), config.initial_equity, per_year)
    assert got == want
    empty = summarise_track(*tracked_buy_and_hold([], config), config.initial_equity, per_year)
    assert empty == summarise(*buy_and_hold([], config), config.initial_equity, per_year)

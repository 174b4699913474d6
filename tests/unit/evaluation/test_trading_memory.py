"""The trading value of a long series holds what the broker's walks hold, no list beside them.

A long replay's series is a million targets. Trading one walks the broker twice, one walk after
the other (buy-and-hold, then the model's actions), and each walk keeps an equity point per
candle. A list of the series' candles (kept for the next model) or of each column's values is
as large again, several times over: traced Python memory (``tracemalloc``) of the trading value
is held under twice that of one bare broker walk over the same candles.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker import Broker, BrokerConfig
from ghostcandle.domain.candles import Candle
from ghostcandle.engine.evaluation.trading_value import trading_value

from .conftest import SYM, ledger, market, persistence

N = 60_000


def _peak(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_long_series_is_traded_within_two_broker_walks() -> None:
    rows = market(N)
    g = ledger("persistence", rows, persistence(rows))
    times = g["target_open_time"].to_numpy()
    config = BrokerConfig()

    def one_walk() -> None:  # the candles made one at a time, as a bare broker takes them
        broker = Broker(config)
        broker.on_signal(SYM, int(times[0]), Action.BUY)
        for i in range(N):
            broker.on_candle(Candle(SYM, "1m", int(times[i]), *rows[i + 1].tolist()))
        broker.finish()

    trading_value(g.iloc[:50], "1m", config, {})  # imports and first-call caches
    one_walk()
    walk = _peak(one_walk)
    traded = _peak(lambda: trading_value(g, "1m", config, {}))
    assert traded < 2 * walk, (traded, walk)

"""The simulator's market: deterministic, roll-ups consistent, closed means closed."""

from __future__ import annotations

from ghostcandle.domain.aggregation import rollup
from ghostcandle.feeds.backfill import candles_frame
from ghostcandle.feeds.simulator.market import synthetic_market

T0 = 1_700_000_000_000


def test_same_seed_same_market_other_seed_other_market():
    a = synthetic_market(("ETH/USDT",), ("1s",), start_ms=T0, seed=1)
    b = synthetic_market(("ETH/USDT",), ("1s",), start_ms=T0, seed=1)
    c = synthetic_market(("ETH/USDT",), ("1s",), start_ms=T0, seed=2)
    end = T0 + 7_200_000
    ca = a.closed_candles("ETH/USDT", "1s", T0, end, end, 10_000)
    assert ca == b.closed_candles("ETH/USDT", "1s", T0, end, end, 10_000)
    assert ca != c.closed_candles("ETH/USDT", "1s", T0, end, end, 10_000)
    assert len(ca) == 7200  # two generated chunks join without a gap


def test_higher_intervals_are_the_roll_up_of_the_base_candles():
    m = synthetic_market(("BTC/USDT",), ("1s", "1m"), start_ms=T0, seed=3)
    end = T0 + 600_000
    secs = m.closed_candles("BTC/USDT", "1s", T0, end, end, 10_000)
    mins = m.closed_candles("BTC/USDT", "1m", T0, end, end, 10_000)
    expected = rollup(candles_frame(secs), "1s", "1m")
    expected = expected[expected["open_time"] + 60_000 <= end]  # the forming minute is not closed
    assert [c.open_time for c in mins] == expected["open_time"].tolist()
    assert [c.high for c in mins] == expected["high"].tolist()
    assert [c.low for c in mins] == expected["low"].tolist()
    assert [c.close for c in mins] == expected["close"].tolist()
    assert [c.volume for c in mins] == [round(v, 8) for v in expected["volume"].tolist()]


def test_only_closed_candles_are_listed_and_the_forming_one_changes():
    m = synthetic_market(("ETH/USDT",), ("1s", "1m"), start_ms=T0, seed=4)
    now = T0 + 90_500
    closed = m.closed_candles("ETH/USDT", "1m", T0, now, now)
    assert [c.open_time for c in closed] == [
        T0 - T0 % 60_000 + i * 60_000 for i in range(len(closed))
    ]
    assert all(c.close_time <= now for c in closed)
    forming_open = now - now % 60_000
    early = m.candle("ETH/USDT", "1m", forming_open, now)
    later = m.candle("ETH/USDT", "1m", forming_open, forming_open + 60_000)
    assert early is not None
    assert later is not None
    assert early != later


def test_a_minute_exists_from_its_open_flat_at_the_last_price_until_a_second_closes():
    m = synthetic_market(("ETH/USDT",), ("1s", "1m"), start_ms=T0, seed=5)
    minute = T0 - T0 % 60_000 + 180_000
    for upto in (minute, minute + 999):  # no 1s candle of the minute has closed yet
        assert m.candle("ETH/USDT", "1m", minute, upto) is None
        flat = m.forming_candle("ETH/USDT", "1m", minute, upto)
        previous = m.closed_candles("ETH/USDT", "1m", minute - 60_000, minute - 60_000, upto)[0]
        assert flat is not None
        assert (flat.open_time, flat.volume) == (minute, 0.0)
        assert flat.open == flat.high == flat.low == flat.close == previous.close
    later = m.forming_candle("ETH/USDT", "1m", minute, minute + 5_000)
    assert later == m.candle("ETH/USDT", "1m", minute, minute + 5_000)
    assert later is not None
    assert later.volume > 0
    assert m.forming_candle("ETH/USDT", "1m", T0 - 120_000, T0 - 60_000) is None  # before trading

"""Backfill through ccxt pointed at the simulator (ccxt's binance client, real loopback HTTP)."""

from __future__ import annotations

import pytest

from ghostcandle.domain.errors import UserInputError
from ghostcandle.feeds.ccxt_backfill import ccxt_backfill
from ghostcandle.feeds.simulator.faults import Faults
from ghostcandle.store.candles import CandleStore


def _check_equal(sim, store: CandleStore) -> int:
    df = store.read("ETH/USDT", "1m")
    first, last = int(df["open_time"].iloc[0]), int(df["open_time"].iloc[-1])
    want = sim.market.closed_candles("ETH/USDT", "1m", first, last, sim.sim_now(), 10**6)
    got = [(int(r.open_time), r.open, r.high, r.low, r.close, r.volume) for r in df.itertuples()]
    assert got == [(c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in want]
    return len(got)


def test_ccxt_backfill_stores_the_closed_candles_and_resumes(make_sim, store: CandleStore):
    sim = make_sim(speed=1.0, symbols=("ETH/USDT",), intervals=("1m",), history_ms=3 * 3_600_000)
    since = sim.market.first_open("ETH/USDT")
    report = ccxt_backfill(store, "binance", "ETH/USDT", "1m", since, api_url=sim.rest_url)
    n = _check_equal(sim, store)
    assert n >= 179
    assert report.inserted == n
    again = ccxt_backfill(store, "binance", "ETH/USDT", "1m", since, api_url=sim.rest_url)
    assert again.inserted <= 1  # resumed after the newest stored candle
    assert again.duplicates == 0


def test_ccxt_backfill_waits_out_rate_limits(make_sim, store: CandleStore):
    sim = make_sim(
        Faults(rest_429_every=2), speed=1.0, symbols=("ETH/USDT",), intervals=("1m",),
        history_ms=3_600_000,
    )  # fmt: skip
    waits: list[float] = []
    since = sim.market.first_open("ETH/USDT")
    report = ccxt_backfill(
        store, "binance", "ETH/USDT", "1m", since, api_url=sim.rest_url, sleep=waits.append
    )
    assert report.rate_limited >= 1
    assert len(waits) == report.rate_limited
    assert _check_equal(sim, store) >= 59


def test_unknown_exchange_is_a_clear_error(store: CandleStore):
    with pytest.raises(UserInputError, match="unknown exchange 'nosuchx'"):
        ccxt_backfill(store, "nosuchx", "ETH/USDT", "1m", 0)

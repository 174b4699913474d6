"""Helpers for feed tests: a real simulator on loopback and a real feed into a real DuckDB file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.events import CandleCompletionEvent
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.feeds.config import FeedConfig
from ghostcandle.feeds.live_feed import LiveFeed
from ghostcandle.feeds.simulator.faults import Faults
from ghostcandle.feeds.simulator.market import synthetic_market
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOLS = ("ETH/USDT", "BTC/USDT")
INTERVALS = ("1s", "1m")

SimFactory = Callable[..., ExchangeSimulator]


@pytest.fixture
def make_sim() -> Iterator[SimFactory]:
    """Start simulators (synthetic, 20x speed, 10 minutes of history); stop them afterwards."""
    started: list[ExchangeSimulator] = []

    def make(
        faults: Faults | None = None,
        *,
        speed: float = 20.0,
        symbols: tuple[str, ...] = SYMBOLS,
        intervals: tuple[str, ...] = INTERVALS,
        history_ms: int = 600_000,
        ping_s: float | None = 1.0,
    ) -> ExchangeSimulator:
        now = LiveClock().now_ms()
        market = synthetic_market(symbols, intervals, start_ms=now - history_ms, seed=7)
        config = SimulatorConfig(
            speed=speed,
            faults=faults or Faults(),
            ping_interval_s=ping_s,
            ping_timeout_s=ping_s,
        )
        sim = ExchangeSimulator(market, config).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def feed_config(sim: ExchangeSimulator, **overrides: object) -> FeedConfig:
    """Return a feed config pointed at ``sim`` with quick fault detection."""
    base: dict[str, object] = {
        "symbols": sim.market.symbols,
        "intervals": sim.market.intervals,
        "rest_url": sim.rest_url,
        "ws_url": sim.ws_url,
        "history_candles": 30,
        "seed": 1,
        "ping_interval_s": 0.4,
        "ping_timeout_s": 0.4,
        "stale_after_s": 2.0,
        "reconnect_min_s": 0.1,
        "reconnect_max_s": 0.5,
    }
    base.update(overrides)
    return FeedConfig(**base)  # type: ignore[arg-type]


def _run_feed(
    db: Database, sim: ExchangeSimulator, seconds: float, **overrides: object
) -> tuple[LiveFeed, list[CandleCompletionEvent]]:
    """Run a real feed against ``sim`` for ``seconds``; return it and the events published."""
    bus = MessageBus()
    events: list[CandleCompletionEvent] = []
    bus.subscribe("candles.*", events.append)
    feed = LiveFeed(db, bus, feed_config(sim, **overrides)).start()
    assert feed.wait_started(20)
    time.sleep(seconds)
    feed.stop()
    return feed, events


def _assert_matches_simulator(
    db: Database, sim: ExchangeSimulator, events: list[CandleCompletionEvent]
) -> None:
    """Stored closed candles equal the simulator's record: no gap, no duplicate, none open."""
    store = CandleStore(db)
    upto = sim.sim_now()
    for symbol in sim.market.symbols:
        for interval in sim.market.intervals:
            df = store.read(symbol, interval)
            assert len(df) > 0, f"nothing stored for {symbol} {interval}"
            first, last = int(df["open_time"].iloc[0]), int(df["open_time"].iloc[-1])
            expected = sim.market.closed_candles(symbol, interval, first, last, upto, 10**6)
            stored = [
                (int(r.open_time), r.open, r.high, r.low, r.close, r.volume)
                for r in df.itertuples()
            ]
            want = [(c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in expected]
            assert stored == want, f"{symbol} {interval}: stored series differs from the simulator"
            d = duration_ms(interval)
            times = [
                e.candle.open_time for e in events if (e.symbol, e.timeframe) == (symbol, interval)
            ]
            if times:  # published in order, each once, no gap
                assert times == list(range(times[0], times[0] + d * len(times), d))


@pytest.fixture
def run_feed() -> Callable[..., tuple[LiveFeed, list[CandleCompletionEvent]]]:
    """Return the function that runs a real feed against a simulator for some seconds."""
    return _run_feed


@pytest.fixture
def assert_matches_simulator() -> Callable[..., None]:
    """Return the check that the stored series equal the simulator's record."""
    return _assert_matches_simulator

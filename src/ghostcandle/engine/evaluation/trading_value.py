"""Trading value: a model's actions followed through the simulated broker, net of costs.

Per model, symbol and timeframe, the resolved targets are the candles traded, in time order.
As a backtest does, the action decided at a candle's close becomes an order that the
``domain.broker.Broker`` fills at the open of the next candle (the target), with its fees,
slippage, sizing and its own meaning of HOLD, all from ``BrokerConfig()`` unless given; the
last position is closed at the last close. Beside it: flat (no position: 0%) and buy-and-hold
over the very same candles through the same broker settings (``domain.performance``).

A target missing from the ledger (expired) is a gap: the order decided before it is filled at
the open of the next candle handed over, as the broker does with a gap in live data.

Candles are made from the rows as the broker takes them (``rows.values``), never a list of a
series' candles: a long replay's series is a million of them; the brokers keep an equity track
(``domain.equity_track``: 8 bytes a candle), not a curve of points. A stored session's series
are traded from its ledger read in ranges (``follow_rows``, as ``stored_evaluation`` does).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.candles import PRICE_COLUMNS, Candle
from ghostcandle.domain.equity_track import TrackedBroker, summarise_track, tracked_buy_and_hold
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.performance import Performance, periods_per_year
from ghostcandle.engine.evaluation.rows import in_order, last_of_each, rows_at, values
from ghostcandle.engine.evaluation.significance import status_of

#: Buy-and-hold per traded candle series (symbol, timeframe, ``series_key`` of its times),
#: shared by the models trading the same candles.
BenchmarkCache = dict[tuple[str, str, bytes], Performance]
#: the columns a series is traded from: its candles, then each decision
CANDLE_COLUMNS = ("target_open_time", *(f"actual_{f}" for f in PRICE_COLUMNS), "actual_volume")
DECISION_COLUMNS = ("decision_time", "action", "confidence")


def check_config(config: BrokerConfig) -> BrokerConfig:
    """Return ``config`` if the ledger holds what it needs, else say what to change."""
    if config.fill != "next_open":
        raise UserInputError(
            f"fill {config.fill!r} needs the decision candle, which the ledger does not keep: "
            "evaluate with fill='next_open'"
        )
    return config


def _candles(s: pd.DataFrame, symbol: str, timeframe: str) -> Iterator[Candle]:
    for t, o, h, lo, c, v in values(s, CANDLE_COLUMNS):
        yield Candle(symbol, timeframe, int(t), o, h, lo, c, v)


def series_key(times: np.ndarray) -> bytes:
    """Return a digest of a series' target times (int64): the benchmark cache's key."""
    return hashlib.blake2b(np.ascontiguousarray(times, dtype=np.int64).tobytes()).digest()


def benchmark(
    key: tuple[str, str, bytes],
    candles: Callable[[], Iterable[Candle]],
    config: BrokerConfig,
    cache: BenchmarkCache,
) -> Performance:
    """Return buy-and-hold over ``candles()`` (made only when ``key`` is not in ``cache``)."""
    found = cache.get(key)
    if found is None:
        trades, track = tracked_buy_and_hold(candles(), config)
        found = cache[key] = summarise_track(
            trades, track, config.initial_equity, periods_per_year(key[1])
        )
    return found


def follow_rows(
    rows: Iterable[tuple[Candle, tuple[Any, ...]]],
    n: int,
    first_last: tuple[int, int] | None,
    bench: Performance,
    timeframe: str,
    config: BrokerConfig,
) -> dict[str, Any]:
    """Trade ``(candle, (decision_time, action, confidence))`` pairs of one series, in order.

    ``n`` is their number, ``first_last`` their first and last target times (None if none).
    """
    broker = TrackedBroker(config)
    actions = {a.name: a for a in Action}
    for candle, (at, action, confidence) in rows:
        # decided at the close before the target: filled at the target's open
        broker.on_signal(candle.symbol, int(at), actions[action], confidence)
        broker.on_candle(candle)
    broker.finish()
    perf = summarise_track(
        broker.trades, broker.track, config.initial_equity, periods_per_year(timeframe)
    )
    return {
        "n": n,
        "status": status_of(n),
        "first_target": None if first_last is None else first_last[0],
        "last_target": None if first_last is None else first_last[1],
        "model": perf.to_json(),
        "flat": {"return_pct": 0.0, "pnl": 0.0, "trades": 0},
        "buy_and_hold": bench.to_json(),
        "vs_flat_pct": perf.return_pct,
        "vs_buy_and_hold_pct": perf.return_pct - bench.return_pct,
        "broker": dataclasses.asdict(config),
    }


def follow(
    s: pd.DataFrame,
    symbol: str,
    timeframe: str,
    config: BrokerConfig,
    cache: BenchmarkCache | None = None,
) -> dict[str, Any]:
    """Trade one model's resolved predictions of one series (sorted by target time)."""
    targets = s["target_open_time"].to_numpy(np.int64)
    key = (symbol, timeframe, series_key(targets))
    bench = benchmark(
        key, lambda: _candles(s, symbol, timeframe), config, {} if cache is None else cache
    )
    rows = zip(_candles(s, symbol, timeframe), values(s, DECISION_COLUMNS), strict=True)
    n = len(s)
    ends = (int(targets[0]), int(targets[-1])) if n else None
    return follow_rows(rows, n, ends, bench, timeframe, config)


def trading_value(
    g: pd.DataFrame, timeframe: str, config: BrokerConfig, cache: BenchmarkCache
) -> dict[str, dict[str, Any]]:
    """Return ``{symbol: figures}`` of one model's resolved predictions of ``timeframe``."""
    out: dict[str, dict[str, Any]] = {}
    indices: dict[Any, Any] = g.groupby("symbol").indices
    for symbol in sorted(indices):
        ordered = in_order(rows_at(g, indices[symbol]), "target_open_time")
        # the broker takes each candle once: a target predicted twice (several sessions or
        # folds pooled) is traded on its last prediction
        ordered = last_of_each(ordered, "target_open_time")
        out[str(symbol)] = follow(ordered, str(symbol), timeframe, config, cache)
    return out

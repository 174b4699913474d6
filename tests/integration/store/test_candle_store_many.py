"""Candles of many series in one write: the same rules as ``write_in``, a verdict per candle."""

from __future__ import annotations

import pandas as pd

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.store.candles import CandleStore

T0 = 1_722_038_400_000  # 2024-07-27T00:00Z
M = 60_000


def _row(c: Candle, **flags: object) -> pd.DataFrame:
    data: dict[str, object] = {
        "open_time": [c.open_time],
        "open": [c.open],
        "high": [c.high],
        "low": [c.low],
        "close": [c.close],
        "volume": [c.volume],
    }
    data.update({k: [v] for k, v in flags.items()})
    return pd.DataFrame(data)


def _stored(store: CandleStore, symbol: str, timeframe: str) -> list[tuple[object, ...]]:
    cur = store.db.cursor()
    rows = cur.execute(
        "SELECT open_time, open, high, low, close, volume, complete, source FROM candles "
        "WHERE symbol = ? AND timeframe = ? ORDER BY open_time",
        [symbol, timeframe],
    ).fetchall()
    cur.close()
    return [tuple(r) for r in rows]


def test_each_candle_of_a_multi_series_batch_gets_the_write_rules_verdict(
    store: CandleStore,
) -> None:
    a0 = Candle("A/USDT", "1m", T0, 10.0, 11.0, 9.0, 10.5, 1.0)
    a1_partial = Candle("A/USDT", "1m", T0 + M, 10.5, 10.8, 10.1, 10.2, 0.3)
    b0 = Candle("B/USDT", "1m", T0, 20.0, 21.0, 19.0, 20.5, 2.0)
    store.write(
        "A/USDT",
        "1m",
        pd.concat(
            [_row(a0, n_parts=1, complete=True), _row(a1_partial, n_parts=3, complete=False)]
        ),
        provenance=CandleSource.FILE,
    )
    store.write("B/USDT", "1m", _row(b0), source="first", provenance=CandleSource.FILE)

    a1_full = Candle("A/USDT", "1m", T0 + M, 10.5, 10.9, 10.0, 10.4, 1.1)
    b0_other = Candle("B/USDT", "1m", T0, 20.0, 21.0, 19.0, 20.7, 2.0)
    b1 = Candle("B/USDT", "1m", T0 + M, 20.7, 21.2, 20.1, 21.0, 1.5)
    a0_1s = Candle("A/USDT", "1s", T0, 10.0, 10.1, 9.9, 10.05, 0.1)
    batch = [a0, a1_full, b0_other, b1, a0_1s]

    verdicts = store.write_many(batch, source="feed", provenance=CandleSource.FILE)

    assert verdicts == ["same", "replace", "conflict", "new", "new"]
    assert _stored(store, "A/USDT", "1m") == [
        (T0, 10.0, 11.0, 9.0, 10.5, 1.0, True, ""),
        (T0 + M, 10.5, 10.9, 10.0, 10.4, 1.1, True, "feed"),
    ]
    # the refused rewrite leaves the stored candle as it was and is logged once
    assert _stored(store, "B/USDT", "1m") == [
        (T0, 20.0, 21.0, 19.0, 20.5, 2.0, True, "first"),
        (T0 + M, 20.7, 21.2, 20.1, 21.0, 1.5, True, "feed"),
    ]
    assert _stored(store, "A/USDT", "1s") == [(T0, 10.0, 10.1, 9.9, 10.05, 0.1, True, "feed")]
    assert store.conflicts_count() == 1
    cur = store.db.cursor()
    logged = cur.execute("SELECT symbol, open_time, close, source FROM candle_conflicts").fetchall()
    cur.close()
    assert logged == [("B/USDT", T0, 20.7, "feed")]


def test_a_wrong_newest_hint_falls_back_to_classifying_and_loses_nothing(
    store: CandleStore,
) -> None:
    a0 = Candle("A/USDT", "1m", T0, 10.0, 11.0, 9.0, 10.5, 1.0)
    store.write("A/USDT", "1m", _row(a0), provenance=CandleSource.FILE)
    b0 = Candle("B/USDT", "1m", T0, 20.0, 21.0, 19.0, 20.5, 2.0)
    # the caller believes neither series has T0 stored: the one-statement insert clashes
    newest = {("A/USDT", "1m"): T0 - M, ("B/USDT", "1m"): T0 - M}

    verdicts = store.write_many(
        [a0, b0], source="feed", newest=newest, provenance=CandleSource.FILE
    )

    assert verdicts == ["same", "new"]
    assert len(_stored(store, "A/USDT", "1m")) == 1
    assert _stored(store, "B/USDT", "1m") == [(T0, 20.0, 21.0, 19.0, 20.5, 2.0, True, "feed")]


def test_all_newer_candles_are_inserted_in_one_go(store: CandleStore) -> None:
    batch = [Candle(s, "1m", T0, 1.0, 2.0, 0.5, 1.5, 3.0) for s in ("A/USDT", "B/USDT")]
    newest = {("A/USDT", "1m"): T0 - M, ("B/USDT", "1m"): T0 - M}

    assert store.write_many(batch, source="feed", newest=newest, provenance=CandleSource.FILE) == [
        "new",
        "new",
    ]
    assert store.write_many(batch, source="feed", newest=newest, provenance=CandleSource.FILE) == [
        "same",
        "same",
    ]
    for s in ("A/USDT", "B/USDT"):
        assert _stored(store, s, "1m") == [(T0, 1.0, 2.0, 0.5, 1.5, 3.0, True, "feed")]

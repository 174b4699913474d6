"""Many ranges of stored candle rows read together: each range as a query of its own gives it.

The expected rows come from a plain SQL query per range, in this file, against a real DuckDB
file holding two symbols on two timeframes, written in an order that interleaves them.
"""

from __future__ import annotations

import numpy as np
import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.store.candle_row_reads import RANGES_PER_READ
from ghostcandle.store.candles import CandleStore

T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
M, H = 60_000, 3_600_000


@pytest.fixture
def filled(store: CandleStore) -> CandleStore:
    for part in range(3):  # appended in slices, symbols and timeframes interleaved
        for seed, symbol in enumerate(("ETH/USDT", "BTC/USDT")):
            minutes = synthetic_candles(200, "1m", start_ms=T0 + part * 200 * M, seed=seed + part)
            store.write(symbol, "1m", minutes, provenance=CandleSource.FILE)
            hours = synthetic_candles(20, "1h", start_ms=T0 + part * 20 * H, seed=9 + seed)
            store.write(symbol, "1h", hours, provenance=CandleSource.REST_BACKFILL)
    return store


def _one(store: CandleStore, symbol: str, tf: str, lo: int, hi: int) -> dict[str, np.ndarray]:
    rows = store.db.con.execute(
        "SELECT open_time, open, high, low, close, volume, complete, provenance FROM candles "
        "WHERE symbol = ? AND timeframe = ? AND open_time BETWEEN ? AND ? ORDER BY open_time",
        [symbol, tf, lo, hi],
    ).fetchall()
    return {
        "open_time": np.array([r[0] for r in rows], np.int64),
        "values": np.array([r[1:6] for r in rows], np.float64).reshape(-1, 5),
        "complete": np.array([r[6] for r in rows], bool),
        "provenance": np.array([r[7] for r in rows], object),
    }


def test_each_range_is_what_its_own_query_reads(filled: CandleStore) -> None:
    ranges = [
        ("ETH/USDT", "1m", T0 + 150 * M, T0 + 260 * M),  # across two appended slices
        ("BTC/USDT", "1h", T0, T0 + 59 * H),  # every hour
        ("ETH/USDT", "1h", T0 + 5 * H, T0 + 5 * H),  # one row
        ("BTC/USDT", "1m", T0 + 10_000 * M, T0 + 10_100 * M),  # none stored there
        ("ETH/USDT", "1m", T0 + 150 * M, T0 + 260 * M),  # the same range again
        ("BTC/USDT", "1m", T0 + 599 * M, T0 + 599 * M),  # the last
    ]
    got = filled.read_row_ranges(ranges)
    assert len(got) == len(ranges)
    for r, rows in zip(ranges, got, strict=True):
        want = _one(filled, *r)
        assert np.array_equal(rows.open_time, want["open_time"]), r
        assert np.array_equal(rows.values, want["values"]), r
        assert np.array_equal(rows.complete, want["complete"]), r
        assert list(rows.provenance) == list(want["provenance"]), r
    assert [len(g.open_time) for g in got] == [111, 60, 1, 0, 111, 1]
    assert set(got[1].provenance) == {"rest_backfill"}


def test_more_ranges_than_one_statement_takes_keep_their_order(filled: CandleStore) -> None:
    n = 2 * RANGES_PER_READ + 3
    ranges = [
        ("ETH/USDT" if k % 2 else "BTC/USDT", "1m", T0 + k * 7 * M, T0 + k * 7 * M + 4 * M)
        for k in range(n)
    ]
    got = filled.read_row_ranges(ranges)
    assert [int(g.open_time[0]) for g in got] == [r[2] for r in ranges]
    for r, rows in zip(ranges, got, strict=True):
        assert np.array_equal(rows.values, _one(filled, *r)["values"])
    # one range through ``read_rows`` is the same read
    assert np.array_equal(filled.read_rows(*ranges[5]).values, got[5].values)


def test_an_unknown_timeframe_is_refused_before_any_read(filled: CandleStore) -> None:
    with pytest.raises(UserInputError, match="2m"):
        filled.read_row_ranges([("ETH/USDT", "1m", T0, T0 + M), ("ETH/USDT", "2m", T0, T0)])

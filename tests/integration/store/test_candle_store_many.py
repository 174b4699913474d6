"""Candles of many series in one write: the same rules as ``write_in``, a verdict per candle."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.id_filters import SMALL

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
    cur = store.db.con.cursor()
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
    cur = store.db.con.cursor()
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


def _every_verdict_case(db_path: Path, pad: int) -> tuple[list[str], list[tuple[object, ...]]]:
    """Write a batch meeting every branch of the write rules, with ``pad`` new candles of
    another series after it; return the verdicts of the cases and every stored row."""
    with Database(db_path) as db:
        store = CandleStore(db)
        done = Candle("A/USDT", "1m", T0, 10.0, 11.0, 9.0, 10.5, 1.0)
        part = Candle("A/USDT", "1m", T0 + M, 10.5, 10.8, 10.1, 10.2, 0.3)
        more = Candle("A/USDT", "1m", T0 + 2 * M, 10.2, 10.6, 10.0, 10.3, 0.4)
        store.write(
            "A/USDT", "1m",
            pd.concat([
                _row(done, n_parts=1, complete=True),
                _row(part, n_parts=3, complete=False),
                _row(more, n_parts=5, complete=False),
            ]),
            provenance=CandleSource.FILE,
        )  # fmt: skip
        cases = [
            Candle("A/USDT", "1m", T0, 10.0, 11.0, 9.0, 10.5 * (1 + 1e-12), 1.0),  # same, within
            Candle("A/USDT", "1m", T0 + M, 10.5, 10.9, 10.0, 10.4, 1.1),  # complete: replace
            Candle(
                "A/USDT", "1m", T0 + 2 * M, 10.2, 10.7, 10.0, 10.25, 0.5
            ),  # complete over a 5-part partial
            Candle("A/USDT", "1m", T0 + 3 * M, 10.3, 10.4, 10.2, 10.35, 0.2),  # new
        ]
        conflict = Candle("A/USDT", "1m", T0, 10.0, 11.0, 9.0, 10.6, 1.0)  # a complete one differs
        padding = [
            Candle("P/USDT", "1s", T0 + i * 1000, 1.0, 1.0, 1.0, 1.0, 1.0) for i in range(pad)
        ]
        verdicts = store.write_many([*cases, *padding], source="feed", provenance=CandleSource.FILE)
        verdicts += store.write_many([conflict, *padding], provenance=CandleSource.FILE)[:1]
        cur = db.con.cursor()
        rows = cur.execute(
            "SELECT symbol, timeframe, open_time, open, high, low, close, volume, complete, "
            "n_parts, source FROM candles WHERE symbol = 'A/USDT' ORDER BY open_time"
        ).fetchall()
        rows += cur.execute("SELECT symbol, open_time, close FROM candle_conflicts").fetchall()
        cur.close()
        return [str(v) for v in verdicts[: len(cases)] + verdicts[-1:]], [tuple(r) for r in rows]


def test_a_few_candles_get_the_same_verdicts_and_rows_as_a_batch(tmp_path: Path) -> None:
    """A live write's few candles are classified in Python (``classify_few``), a batch past
    ``id_filters.SMALL`` in SQL: the same cases give the same verdicts and stored rows."""
    few = _every_verdict_case(tmp_path / "few.duckdb", 0)
    batch = _every_verdict_case(tmp_path / "batch.duckdb", SMALL + 10)
    assert few[0] == ["same", "replace", "replace", "new", "conflict"]
    assert few == batch

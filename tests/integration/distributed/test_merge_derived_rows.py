"""A Ray replay worker's candle copy and its merged indicators hold each row once (no keys)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ghostcandle.distributed.replay import _merge
from ghostcandle.distributed.snapshot import export_candles, load_candles
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.indicators import INDICATOR_COLUMNS
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.indicators import IndicatorStore

T0 = 1_722_038_400_000
M = 60_000


def _write(path: Path, minutes: range, value: float) -> None:
    with Database(path) as db:
        times = T0 + M * np.array(list(minutes))
        IndicatorStore(db).write(
            "ETH/USDT", "1m", times, np.full((len(times), len(INDICATOR_COLUMNS)), value)
        )


def test_indicators_the_main_database_or_an_earlier_worker_holds_are_not_copied_again(
    tmp_path: Path,
) -> None:
    main, one, two = tmp_path / "main.duckdb", tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    _write(main, range(0, 10), 1.0)
    _write(one, range(5, 15), 2.0)  # the same candles' indicators, and five more
    _write(two, range(10, 20), 3.0)  # overlaps the first worker's new rows

    _merge(main, [one, two])

    with Database(main, read_only=True) as db:
        rows = db.con.execute(
            "SELECT count(*), count(DISTINCT open_time) FROM indicators"
        ).fetchone()
        got = IndicatorStore(db).read("ETH/USDT", "1m")
    assert rows == (20, 20)
    assert got["open_time"].tolist() == (T0 + M * np.arange(20)).tolist()
    # a row already held is kept as it is, as a keyed table's INSERT OR IGNORE kept it
    np.testing.assert_array_equal(got["rsi_14"], [1.0] * 10 + [2.0] * 5 + [3.0] * 5)


def test_a_worker_loads_its_symbols_candles_from_the_snapshot_once(tmp_path: Path) -> None:
    with Database(tmp_path / "main.duckdb") as db:
        for symbol in ("ETH/USDT", "BTC/USDT"):
            df = synthetic_candles(50, "1m", start_ms=T0, seed=len(symbol))
            CandleStore(db).write(symbol, "1m", df, provenance=CandleSource.FILE)
        snapshot = export_candles(db, ["ETH/USDT", "BTC/USDT"], tmp_path)
        expected = CandleStore(db).read("ETH/USDT", "1m")
    with Database(tmp_path / "worker.duckdb") as worker:
        load_candles(worker, snapshot, "ETH/USDT")
        load_candles(worker, snapshot, "ETH/USDT")
        rows = worker.con.execute("SELECT count(*), count(DISTINCT symbol) FROM candles").fetchone()
        assert rows == (50, 1)
        pd.testing.assert_frame_equal(CandleStore(worker).read("ETH/USDT", "1m"), expected)

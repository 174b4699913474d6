"""A Ray replay worker's candle copy and its merged rows (indicators, pivots, samples, outcomes,
books) hold each row once (no keys)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ghostcandle.distributed.replay import _merge
from ghostcandle.distributed.snapshot import export_candles, load_candles
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.frames import FrameRef, make_frame_id
from ghostcandle.domain.indicators import INDICATOR_COLUMNS
from ghostcandle.domain.samples import NewSample, SampleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec
from ghostcandle.engine.structure.engine import compute_structure
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthSnapshot, DepthStore
from ghostcandle.store.indicators import IndicatorStore
from ghostcandle.store.outcomes import OutcomeStore, PendingOutcome
from ghostcandle.store.pivots import PivotStore
from ghostcandle.store.samples import SampleStore

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


def _samples_and_outcomes(path: Path, minutes: range, now: int) -> None:
    with Database(path) as db:
        df = synthetic_candles(60, "1m", start_ms=T0, seed=5)
        CandleStore(db).write("ETH/USDT", "1m", df, provenance=CandleSource.FILE)
        items = []
        for e in minutes:
            windows = (WindowSpec("1m", T0 + e * M, 10),)
            t = T0 + (e + 1) * M
            frame = FrameRef(make_frame_id("m", "ETH/USDT", t, windows), "m", "1", "ETH/USDT", t,
                             windows)  # fmt: skip
            items.append(NewSample(frame, SampleSource.CANDLE, "1m", 1))
        made = SampleStore(db).record(items, now=now)
        OutcomeStore(db).insert_pending(
            [PendingOutcome(s.sample_id, s.frame.frame_id, "ETH/USDT", "1m", s.frame.decision_time,
                            5, 0, 0, None, 0.0, created_at=s.created_at) for s in made]
        )  # fmt: skip
        books = [DepthSnapshot("ETH/USDT", T0 + e * 1000, e, ((1.0, 1.0),), ((2.0, 1.0),))
                 for e in minutes]  # fmt: skip
        DepthStore(db).write(books)


def test_samples_outcomes_and_books_the_main_database_holds_are_not_copied_again(
    tmp_path: Path,
) -> None:
    main, one, two = tmp_path / "main.duckdb", tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    _samples_and_outcomes(main, range(20, 30), T0 + 1)
    _samples_and_outcomes(one, range(25, 35), T0 + 2)  # the same frames' samples, and five more
    _samples_and_outcomes(two, range(30, 40), T0 + 3)  # overlaps the first worker's new ones

    _merge(main, [one, two])

    with Database(main, read_only=True) as db:
        for table, key in (
            ("training_samples", "sample_id"),
            ("outcomes", "sample_id"),
            ("depth_snapshots", "time"),
        ):
            got = db.con.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {table}").fetchone()
            assert got == (20, 20), table
        # a sample already held is kept as it is (recorded when that database recorded it)
        created = db.con.execute(
            "SELECT created_at, count(*) FROM training_samples GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert created == [(T0 + 1, 10), (T0 + 2, 5), (T0 + 3, 5)]


def _pivots(path: Path, start: int, minutes: int, shift: float) -> int:
    """Store the pivots of ``minutes`` candles from ``start`` (prices moved by ``shift``)."""
    df = synthetic_candles(300, "1m", start_ms=T0, seed=9).iloc[start : start + minutes]
    found = compute_structure("ETH/USDT", "1m", df).pivots
    with Database(path) as db:
        PivotStore(db).write([dataclasses.replace(p, strength=shift) for p in found])
    return len(found)


def test_pivots_the_main_database_or_an_earlier_worker_holds_are_not_copied_again(
    tmp_path: Path,
) -> None:
    main, one, two = tmp_path / "main.duckdb", tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    n_main = _pivots(main, 0, 200, 1.0)
    n_one = _pivots(one, 0, 250, 2.0)  # the same candles' pivots, and more
    n_two = _pivots(two, 0, 300, 3.0)  # all of them again, and more

    _merge(main, [one, two])

    with Database(main, read_only=True) as db:
        rows = db.con.execute(
            "SELECT count(*), count(DISTINCT (timeframe, pivot_type, pivot_time)) FROM pivot_points"
        ).fetchone()
        by_source = db.con.execute(
            "SELECT strength, count(*) FROM pivot_points GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == (n_two, n_two)
    # a pivot already held is kept as it is, the first worker's before the second's
    assert by_source == [(1.0, n_main), (2.0, n_one - n_main), (3.0, n_two - n_one)]
    assert 0 < n_main < n_one < n_two

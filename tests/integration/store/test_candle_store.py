"""The candle store on a real DuckDB file: idempotent writes, refused rewrites, exact windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghostcandle.domain.aggregation import rollup
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.frames import FrameRef, frame_hash
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec
from ghostcandle.store.candles import CandleStore, FrameMismatchError, MissingCandlesError
from ghostcandle.store.db import Database
from ghostcandle.store.migrations import all_migrations

T0 = 1_722_038_400_000  # 2024-07-27T00:00Z


def _candles(n: int, seed: int = 3) -> pd.DataFrame:
    return synthetic_candles(n, "1m", start_ms=T0, seed=seed)


def test_migrations_are_versioned_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "m.duckdb"
    with Database(path) as db:
        assert db.schema_version() == all_migrations()[-1].version
        assert db.migrate() == []
    with Database(path) as db:
        assert db.migrate() == []
        n = db.con.execute("SELECT count(*) FROM schema_migrations").fetchone()
        assert n is not None
        assert n[0] == len(all_migrations())


def test_writing_the_same_candles_twice_is_idempotent(store: CandleStore) -> None:
    df = _candles(500)
    first = store.write("ETH/USDT", "1m", df, provenance=CandleSource.FILE)
    second = store.write("ETH/USDT", "1m", df, provenance=CandleSource.FILE)
    assert (first.inserted, first.duplicates) == (500, 0)
    assert (second.inserted, second.duplicates, second.conflicts) == (0, 500, 0)
    back = store.read("ETH/USDT", "1m")
    pd.testing.assert_frame_equal(back, df)


def test_a_conflicting_rewrite_of_a_closed_candle_is_refused_and_counted(
    store: CandleStore,
) -> None:
    df = _candles(100)
    store.write("ETH/USDT", "1m", df, provenance=CandleSource.FILE)
    changed = df.iloc[10:20].copy()
    changed["close"] = changed["close"] * 1.01
    changed["high"] = np.maximum(changed["high"], changed["close"])
    res = store.write(
        "ETH/USDT",
        "1m",
        pd.concat([changed, _candles(110).iloc[100:]]),
        provenance=CandleSource.FILE,
    )
    assert res.conflicts == 10
    assert res.inserted == 10
    assert res.conflict_times == df["open_time"].iloc[10:20].tolist()
    assert store.conflicts_count() == 10
    stored = store.read(
        "ETH/USDT", "1m", int(df["open_time"].iloc[10]), int(df["open_time"].iloc[19])
    )
    np.testing.assert_array_equal(stored["close"].to_numpy(), df["close"].iloc[10:20].to_numpy())


def test_an_incomplete_rollup_is_replaced_by_a_more_complete_one(store: CandleStore) -> None:
    df = _candles(120)
    partial = rollup(df.iloc[:30], "1m", "1h")
    full = rollup(df, "1m", "1h")
    assert not partial["complete"].iloc[0]
    store.write("ETH/USDT", "1h", partial, provenance=CandleSource.FILE)
    res = store.write("ETH/USDT", "1h", full, provenance=CandleSource.FILE)
    assert res.replaced == 1
    assert res.inserted == 1
    got = store.read("ETH/USDT", "1h", with_flags=True)
    assert got["complete"].tolist() == [True, True]
    assert got["high"].iloc[0] == df["high"].iloc[:60].max()
    # a complete candle is a fact: an incomplete one never replaces it
    again = store.write("ETH/USDT", "1h", partial, provenance=CandleSource.FILE)
    assert (again.replaced, again.conflicts) == (0, 1)


def test_window_returns_exactly_the_candles_ending_at_end(store: CandleStore) -> None:
    df = _candles(1000)
    store.write("ETH/USDT", "1m", df, provenance=CandleSource.FILE)
    end = int(df["open_time"].iloc[700])
    w = store.window("ETH/USDT", WindowSpec("1m", end, 600))
    np.testing.assert_array_equal(w.open_time, df["open_time"].iloc[101:701].to_numpy())
    np.testing.assert_array_equal(
        w.values, df[["open", "high", "low", "close", "volume"]].iloc[101:701].to_numpy()
    )
    assert w.content_hash() == store.window("ETH/USDT", WindowSpec("1m", end, 600)).content_hash()
    other = store.window("ETH/USDT", WindowSpec("1m", end + 60_000, 600))
    assert other.content_hash() != w.content_hash()


def test_window_names_every_missing_candle(store: CandleStore) -> None:
    df = _candles(300)
    holes = [50, 51, 200]
    store.write("ETH/USDT", "1m", df.drop(index=holes), provenance=CandleSource.FILE)
    end = int(df["open_time"].iloc[299])
    with pytest.raises(MissingCandlesError, match="3 1m candle") as err:
        store.window("ETH/USDT", WindowSpec("1m", end, 300))
    assert err.value.missing == df["open_time"].iloc[holes].tolist()
    with pytest.raises(MissingCandlesError) as before:
        store.window("ETH/USDT", WindowSpec("1m", int(df["open_time"].iloc[5]), 10))
    assert len(before.value.missing) == 4


def test_frame_reference_materialises_identically_and_detects_change(store: CandleStore) -> None:
    store.write("ETH/USDT", "1m", _candles(800), provenance=CandleSource.FILE)
    store.write(
        "ETH/USDT", "1h", rollup(_candles(800), "1m", "1h").iloc[:-1], provenance=CandleSource.FILE
    )
    specs = (WindowSpec("1m", T0 + 799 * 60_000, 600), WindowSpec("1h", T0 + 12 * 3_600_000, 12))
    windows = [store.window("ETH/USDT", s) for s in specs]
    ref = FrameRef("f1", "cnn", "v1", "ETH/USDT", T0 + 800 * 60_000, specs, {}, frame_hash(windows))
    for _ in range(3):
        again = store.materialise(FrameRef.from_json(ref.to_json()))
        assert frame_hash(again) == ref.input_hash
    tampered = FrameRef("f1", "cnn", "v1", "ETH/USDT", ref.decision_time, specs, {}, "0" * 64)
    with pytest.raises(FrameMismatchError, match="no longer matches"):
        store.materialise(tampered)


def test_series_overview_counts_rows_gaps_and_incomplete(store: CandleStore) -> None:
    df = _candles(200)
    store.write("BTC/USDT", "1m", df.drop(index=[10, 11, 12, 150]), provenance=CandleSource.FILE)
    store.write("BTC/USDT", "1h", rollup(df.iloc[:90], "1m", "1h"), provenance=CandleSource.FILE)
    info = {(s.symbol, s.timeframe): s for s in store.series()}
    m = info[("BTC/USDT", "1m")]
    assert (m.rows, m.gaps, m.missing) == (196, 2, 4)
    h = info[("BTC/USDT", "1h")]
    assert (h.rows, h.incomplete) == (2, 1)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10_000), st.integers(1, 400), st.integers(0, 399))
def test_store_round_trip(tmp_path: Path, seed: int, n: int, split: int) -> None:
    df = synthetic_candles(n, "1m", start_ms=T0, seed=seed)
    with Database(tmp_path / f"rt{seed}_{n}_{split}.duckdb") as db:
        s = CandleStore(db)
        s.write("ETH/USDT", "1m", df.iloc[: split % n], provenance=CandleSource.FILE)
        s.write("ETH/USDT", "1m", df.iloc[split % n // 2 :], provenance=CandleSource.FILE)
        pd.testing.assert_frame_equal(s.read("ETH/USDT", "1m"), df)


def test_window_is_in_time_order_when_candles_were_written_out_of_order(
    store: CandleStore,
) -> None:
    df = _candles(300)
    store.write("ETH/USDT", "1m", df.iloc[150:], provenance=CandleSource.FILE)
    store.write("ETH/USDT", "1m", df.iloc[:150], provenance=CandleSource.FILE)
    w = store.window("ETH/USDT", WindowSpec("1m", int(df["open_time"].iloc[249]), 200))
    np.testing.assert_array_equal(w.open_time, df["open_time"].iloc[50:250].to_numpy())
    np.testing.assert_array_equal(w.values[:, 3], df["close"].iloc[50:250].to_numpy())

"""Decision points over stored candles: no look-ahead in the inputs, labels from later candles.

Real DuckDB files hold seeded synthetic 1m candles and their 1h roll-ups. The dataset's inputs
at a decision must not change when every candle that closes after the decision is changed;
its labels must be the domain's labels of the next candle; its frames must re-materialise from
the store to exactly the tensors it trains on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD, action_from_move
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import HOUR_MS, MINUTE_MS
from ghostcandle.engine.offline.dataset import load_dataset
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore

SYMBOL = "ETH/USDT"
T0 = 1_722_000_000_000 - 1_722_000_000_000 % (24 * HOUR_MS)
N = 6 * 60  # six hours of 1m candles
WINDOWS = {"1m": 30, "1h": 3}
START, END = T0 + 3 * HOUR_MS, T0 + N * MINUTE_MS


def _hourly(df: pd.DataFrame) -> pd.DataFrame:
    g = df.assign(h=df["open_time"] - df["open_time"] % HOUR_MS).groupby("h", sort=True)
    return pd.DataFrame(
        {
            "open_time": g["open_time"].min().to_numpy(),
            "open": g["open"].first().to_numpy(),
            "high": g["high"].max().to_numpy(),
            "low": g["low"].min().to_numpy(),
            "close": g["close"].last().to_numpy(),
            "volume": g["volume"].sum().to_numpy(),
        }
    )


def _store(path: Path, minutes: pd.DataFrame) -> Database:
    db = Database(path)
    store = CandleStore(db)
    store.write(SYMBOL, "1m", minutes, provenance=CandleSource.FILE)
    store.write(SYMBOL, "1h", _hourly(minutes), provenance=CandleSource.FILE)
    return db


@pytest.fixture
def minutes() -> pd.DataFrame:
    return synthetic_candles(N, "1m", start_ms=T0, seed=11)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pick=st.integers(min_value=0, max_value=10_000), seed=st.integers(0, 2**16))
def test_inputs_never_read_a_candle_that_closes_after_the_decision(
    tmp_path_factory: pytest.TempPathFactory, minutes: pd.DataFrame, pick: int, seed: int
) -> None:
    base_dir = tmp_path_factory.mktemp("ds")
    with _store(base_dir / "a.duckdb", minutes) as db:
        data = load_dataset(CandleStore(db), SYMBOL, ["1m", "1h"], WINDOWS, START, END)
        i = pick % len(data)
        t = int(data.decision_time[i])
        raw = data.raw_windows(np.array([i]))
        label = int(data.labels[i])
    # every candle (of either timeframe) still forming or not yet begun at t is changed
    rng = np.random.default_rng(seed)
    later = minutes.copy()
    after = later["open_time"] + MINUTE_MS > t
    later.loc[after, ["open", "high", "low", "close"]] *= rng.uniform(0.5, 1.5, (after.sum(), 1))
    later.loc[after, "high"] = later.loc[after, ["open", "high", "low", "close"]].max(axis=1)
    later.loc[after, "low"] = later.loc[after, ["open", "high", "low", "close"]].min(axis=1)
    with _store(base_dir / "b.duckdb", later) as db:
        hourly = CandleStore(db).read(SYMBOL, "1h")
        changed = _hourly(later).set_index("open_time")["close"]
        assert (hourly.set_index("open_time")["close"] == changed).all()
        moved = load_dataset(CandleStore(db), SYMBOL, ["1m", "1h"], WINDOWS, START, END)
        j = int(np.searchsorted(moved.decision_time, t))
        assert moved.decision_time[j] == t
        again = moved.raw_windows(np.array([j]))
    for tf in WINDOWS:
        np.testing.assert_array_equal(raw[tf], again[tf])
    # the label is the only thing that may move: it comes from the candle after t
    assert label in (0, 1, 2)


def test_labels_are_the_domain_labels_of_the_next_candle(
    tmp_path: Path, minutes: pd.DataFrame
) -> None:
    with _store(tmp_path / "g.duckdb", minutes) as db:
        data = load_dataset(CandleStore(db), SYMBOL, ["1m", "1h"], WINDOWS, START, END)
    by_open = minutes.set_index("open_time")["close"]
    for i in range(0, len(data), 17):
        t = int(data.decision_time[i])
        expected = action_from_move(by_open[t - MINUTE_MS], by_open[t], DEFAULT_MOVE_THRESHOLD)
        assert int(data.labels[i]) == int(expected)
        np.testing.assert_array_equal(
            data.targets(np.array([i]))[0],
            minutes.loc[
                minutes["open_time"] == t, ["open", "high", "low", "close", "volume"]
            ].to_numpy()[0],
        )
    # decisions cover [START, END): at START three 1h candles have closed, but the third only
    # just (it is announced after the 1m close): the first decision is one minute later
    assert data.decision_time[0] == START + MINUTE_MS
    assert int(data.target_close[-1]) == END


def test_a_coarser_candle_closing_at_the_decision_is_not_yet_known(
    tmp_path: Path, minutes: pd.DataFrame
) -> None:
    with _store(tmp_path / "g.duckdb", minutes) as db:
        data = load_dataset(CandleStore(db), SYMBOL, ["1m", "1h"], WINDOWS, START, END)
    on_the_hour = np.flatnonzero(data.decision_time % HOUR_MS == 0)
    assert len(on_the_hour)
    for i in on_the_hour:
        (spec_1m, spec_1h) = data.specs(int(i))
        assert spec_1m.known_at == data.decision_time[i]
        # the 1h candle closing at t is announced after the 1m one: the window ends before it
        assert spec_1h.known_at == data.decision_time[i] - HOUR_MS


def test_frames_rematerialise_to_the_batch_the_model_trains_on(
    tmp_path: Path, minutes: pd.DataFrame
) -> None:
    with _store(tmp_path / "g.duckdb", minutes) as db:
        data = load_dataset(CandleStore(db), SYMBOL, ["1m", "1h"], WINDOWS, START, END)
        rows = np.arange(0, len(data), 23)
        refs = data.frames(rows, "offline/test")
        frames = FrameStore(db)
        frames.register_many([(r, "1m") for r in refs])
        samples = [
            {w.spec.timeframe: w.values for w in frames.get_inference_data(frames.get(r.frame_id))}
            for r in refs
        ]
    inputs, params = prepare_inputs(samples, WINDOWS)
    batch = data.batch(rows)
    for tf in WINDOWS:
        np.testing.assert_array_equal(inputs.windows[tf], batch.inputs.windows[tf])
    assert params == [dict(r.norm_params) for r in refs]
    # per decision the dataset keeps a few integers, not a copy of its windows
    per_decision = (
        data.decision_time.nbytes
        + data.target_row.nbytes
        + data.labels.nbytes
        + sum(e.nbytes for e in data.ends.values())
    ) / len(data)
    assert per_decision <= 8 * (3 + len(WINDOWS))


def test_bad_ranges_and_missing_candles_say_what_to_do(
    tmp_path: Path, minutes: pd.DataFrame
) -> None:
    with _store(tmp_path / "g.duckdb", minutes) as db:
        store = CandleStore(db)
        with pytest.raises(UserInputError, match="range is empty"):
            load_dataset(store, SYMBOL, ["1m"], {"1m": 30}, END, START)
        with pytest.raises(DataMissingError, match="no 1m candles of BTC/USDT"):
            load_dataset(store, "BTC/USDT", ["1m"], {"1m": 30}, START, END)
        with pytest.raises(DataMissingError, match="shorten the windows"):
            load_dataset(store, SYMBOL, ["1m"], {"1m": N + 10}, START, END)
        with pytest.raises(UserInputError, match="unknown timeframe"):
            load_dataset(store, SYMBOL, ["7m"], {"7m": 30}, START, END)

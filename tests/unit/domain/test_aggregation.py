"""Roll-ups equal an independent pandas resample; incomplete buckets are flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghostcandle.domain.aggregation import rollup
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles


def _pandas_resample(df: pd.DataFrame, rule: str) -> pd.DataFrame:
    idx = pd.to_datetime(df["open_time"], unit="ms", utc=True)
    r = df.set_index(idx).resample(rule, label="left", closed="left")
    out = pd.DataFrame(
        {
            "open": r["open"].first(),
            "high": r["high"].max(),
            "low": r["low"].min(),
            "close": r["close"].last(),
            "volume": r["volume"].sum(),
            "count": r["open"].count(),
        }
    )
    out = out[out["count"] > 0]
    out.index = out.index.as_unit("ms").asi8
    return out


@pytest.mark.parametrize(
    ("name", "from_tf", "to_tf", "rule", "parts"),
    [
        ("binance_ETHUSDT_1m_2024-07-26_2024-08-25.csv.gz", "1m", "1h", "1h", 60),
        ("binance_BTCUSDT_1m_2020-05-21_2020-06-20.csv.gz", "1m", "1h", "1h", 60),
        ("binance_BTCUSDT_1m_2020-05-21_2020-06-20.csv.gz", "1m", "1d", "1D", 1440),
        ("binance_ETHUSDT_1m_2024-07-26_2024-08-25.csv.gz", "1m", "15m", "15min", 15),
    ],
)
def test_rollup_matches_pandas_resample_on_real_data(
    shared_data: Path, name: str, from_tf: str, to_tf: str, rule: str, parts: int
) -> None:
    df = pd.read_csv(shared_data / name, usecols=range(6))
    ours = rollup(df, from_tf, to_tf).set_index("open_time")
    theirs = _pandas_resample(df, rule)
    assert ours.index.tolist() == theirs.index.tolist()
    for col in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(ours[col].to_numpy(), theirs[col].to_numpy())
    np.testing.assert_allclose(ours["volume"].to_numpy(), theirs["volume"].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ours["complete"].to_numpy(), theirs["count"].to_numpy() == parts)
    # the real files start and end mid-bucket: those buckets must be flagged incomplete
    assert not ours["complete"].iloc[0] or df["open_time"].iloc[0] % (parts * 60_000) == 0


def test_rollup_agrees_with_the_official_daily_candles(shared_data: Path) -> None:
    minutes = pd.read_csv(shared_data / "binance_BTCUSDT_1m_2024-07-26_2024-08-25.csv.gz")
    daily = pd.read_csv(shared_data / "binance_BTCUSDT_1d_2021-06-01_2026-02-28.csv.gz")
    ours = rollup(minutes, "1m", "1d")
    ours = ours[ours["complete"]].set_index("open_time")
    official = daily.set_index("open_time").loc[ours.index]
    for col in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(ours[col].to_numpy(), official[col].to_numpy())
    np.testing.assert_allclose(ours["volume"], official["volume"], rtol=1e-9)
    assert len(ours) >= 28


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.lists(st.integers(0, 299), max_size=40))
def test_buckets_with_missing_parts_are_never_complete(seed: int, drop: list[int]) -> None:
    df = synthetic_candles(
        300, "1m", start_ms=1_700_000_000_000 - 1_700_000_000_000 % 3_600_000, seed=seed
    )
    df = df.drop(index=sorted(set(drop)))
    out = rollup(df, "1m", "1h")
    counts = (df["open_time"] // 3_600_000).value_counts()
    for _, row in out.iterrows():
        n = counts[row["open_time"] // 3_600_000]
        assert row["n_parts"] == n
        assert bool(row["complete"]) == (n == 60)


def test_rollup_refuses_a_target_that_is_not_a_multiple() -> None:
    df = synthetic_candles(10, "1m", start_ms=0, seed=1)
    with pytest.raises(UserInputError, match="multiple"):
        rollup(df, "1h", "1m")

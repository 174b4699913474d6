"""Validation rejects each kind of bad row by reason and keeps every good row."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ghostcandle.domain.validation import REASONS, all_valid_in_order, validate_candles


def _good(n: int, start: int = 1_722_003_360_000) -> pd.DataFrame:
    t = start + 60_000 * np.arange(n, dtype=np.int64)
    o = 100 + np.arange(n, dtype=float)
    return pd.DataFrame(
        {"open_time": t, "open": o, "high": o + 2, "low": o - 2, "close": o + 1, "volume": 5.0}
    )


def test_good_rows_pass_untouched() -> None:
    df = _good(10)
    res = validate_candles(df, "1m")
    assert res.rejected == {}
    assert res.duplicates == 0
    pd.testing.assert_frame_equal(res.valid, df)


def test_each_bad_row_is_rejected_with_its_reason() -> None:
    df = _good(10)
    df.loc[1, "close"] = np.nan
    df.loc[2, "high"] = np.inf
    df.loc[3, "low"] = -1.0
    df.loc[4, "high"] = df.loc[4, "close"] - 0.5  # high below close
    df.loc[5, "low"] = df.loc[5, "open"] + 0.5  # low above open
    df.loc[6, "volume"] = -3.0
    df.loc[7, "open_time"] += 1_000  # not on a minute
    res = validate_candles(df, "1m")
    assert res.rejected == {
        "non_finite": 2,
        "non_positive_price": 1,
        "high_below_open_close": 1,
        "low_above_open_close": 1,
        "negative_volume": 1,
        "misaligned_open_time": 1,
    }
    kept = set(res.valid["open_time"].tolist())
    assert kept == {int(df.loc[i, "open_time"]) for i in (0, 8, 9)}


def test_identical_repeats_are_duplicates_and_different_repeats_conflict() -> None:
    df = _good(5)
    twin = df.iloc[[1]]
    clash = df.iloc[[3]].copy()
    clash["close"] += 0.5
    res = validate_candles(pd.concat([df, twin, clash]), "1m")
    assert res.duplicates == 1
    assert res.rejected == {"conflicting_duplicate": 2}
    assert res.valid["open_time"].tolist() == df["open_time"].drop(index=3).tolist()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 50),
            st.sampled_from([0, 0, 0, 1, 2, 3, 4, 5]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_counts_add_up_and_no_bad_row_survives(rows: list[tuple[int, int]]) -> None:
    base = _good(60)
    picked = []
    for idx, damage in rows:
        r = base.iloc[idx].copy()
        if damage == 1:
            r["open"] = np.nan
        elif damage == 2:
            r["high"] = r["low"] - 1
        elif damage == 3:
            r["volume"] = -1
        elif damage == 4:
            r["open_time"] += 7
        elif damage == 5:
            r["low"] = 0.0
        picked.append(r)
    df = pd.DataFrame(picked)
    res = validate_candles(df, "1m")
    assert set(res.rejected) <= set(REASONS)
    assert len(res.valid) + res.duplicates + res.rejected_total == len(df)
    v = res.valid
    assert v["open_time"].is_unique
    assert v["open_time"].is_monotonic_increasing
    assert np.isfinite(v[["open", "high", "low", "close", "volume"]].to_numpy()).all()
    assert (v["high"] >= v[["open", "close"]].max(axis=1)).all()
    assert (v["low"] <= v[["open", "close"]].min(axis=1)).all()
    assert (v["low"] > 0).all()
    assert (v["volume"] >= 0).all()
    assert (v["open_time"] % 60_000 == 0).all()


def test_key_columns_validate_many_series_in_one_pass() -> None:
    eth, btc = _good(4).assign(symbol="ETH/USDT"), _good(4).assign(symbol="BTC/USDT")
    btc[["open", "high", "low", "close"]] *= 20  # same open times, other prices: not a clash
    twin = eth.iloc[[1]]
    clash = btc.iloc[[2]].assign(close=btc["close"].iloc[2] + 1)
    bad = eth.iloc[[3]].assign(volume=-1.0)
    res = validate_candles(pd.concat([eth.iloc[:3], btc, twin, clash, bad]), "1m", keys=("symbol",))
    assert res.duplicates == 1
    assert res.rejected == {"conflicting_duplicate": 2, "negative_volume": 1}
    kept = list(zip(res.valid["symbol"], res.valid["open_time"], strict=True))
    t = eth["open_time"].tolist()
    assert kept == [("BTC/USDT", t[0]), ("BTC/USDT", t[1]), ("BTC/USDT", t[3])] + [
        ("ETH/USDT", x) for x in t[:3]
    ]
    # without the key the two series would collide on every open time
    assert validate_candles(pd.concat([eth, btc]), "1m").rejected["conflicting_duplicate"] == 8


def _damaged(rows: list[tuple[int, int]]) -> pd.DataFrame:
    """Rows of ``_good(60)`` picked by index (repeats, any order), each with one damage."""
    base = _good(60)
    picked = []
    for idx, damage in rows:
        r = base.iloc[idx].copy()
        col = ("open", "high", "low", "close", "volume")[idx % 5]
        if damage == 1:
            r[col] = np.inf if idx % 2 == 0 else np.nan
        elif damage == 2:
            r["high"] = max(r["open"], r["close"]) - 0.25
        elif damage == 3:
            r["low"] = min(r["open"], r["close"]) + 0.25
        elif damage == 4:
            r["volume"] = -1e-9
        elif damage == 5:
            r["open_time"] += 1
        elif damage == 6:
            r[("open", "low", "close")[idx % 3]] = 0.0
        elif damage == 7:
            r["close"] += 1e-6  # a conflicting twin when the index repeats
        picked.append(r)
    return pd.DataFrame(picked).astype({"open_time": np.int64}).reset_index(drop=True)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 59), st.sampled_from([0] * 12 + [1, 2, 3, 4, 5, 6, 7])),
        min_size=1,
        max_size=30,
    )
)
def test_the_clean_batch_check_says_yes_exactly_when_validation_keeps_all_as_is(
    rows: list[tuple[int, int]],
) -> None:
    df = _damaged(rows)
    res = validate_candles(df, "1m")
    kept_as_is = (
        not res.rejected and res.duplicates == 0 and res.valid.equals(df.reset_index(drop=True))
    )
    values = [df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
    assert all_valid_in_order(df["open_time"].to_numpy(), values, "1m") == kept_as_is


def test_the_clean_batch_check_refuses_each_flaw_alone() -> None:
    # each planted flaw trips one check only: an infinite high, a high below the close, a low
    # above the open, a volume just below 0, an open time 1 ms off, a zero low, a twin, a swap
    flaws = [(6, 1), (5, 2), (5, 3), (5, 4), (5, 5), (4, 6), (0, 0)]
    for rows in ([(1, 0), (0, 0)], *([(0, 0), flaw] for flaw in flaws)):
        df = _damaged(rows)
        values = [df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
        assert not all_valid_in_order(df["open_time"].to_numpy(), values, "1m"), rows
    clean = _good(30)
    values = [clean[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
    assert all_valid_in_order(clean["open_time"].to_numpy(), values, "1m")

"""Indicators: the ``ta`` oracle on real data, the seeding definitions, incremental == batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ta

from ghostcandle.domain.indicators import (
    INDICATOR_COLUMNS,
    WARMUP,
    IndicatorState,
    batch_indicators,
    ema,
    smooth,
)


@pytest.fixture(scope="module")
def eth(eth_1m_2024: Path) -> pd.DataFrame:
    return pd.read_csv(eth_1m_2024)


def _oracle(df: pd.DataFrame) -> dict[str, pd.Series]:
    c, h, lo = df["close"], df["high"], df["low"]
    return {
        "sma_10": ta.trend.sma_indicator(c, 10),
        "sma_20": ta.trend.sma_indicator(c, 20),
        "sma_50": ta.trend.sma_indicator(c, 50),
        "ema_12": ta.trend.ema_indicator(c, 12),
        "ema_26": ta.trend.ema_indicator(c, 26),
        "rsi_14": ta.momentum.rsi(c, 14),
        "atr_14": ta.volatility.average_true_range(h, lo, c, 14),
        "macd": ta.trend.macd(c),
        "macd_signal": ta.trend.macd_signal(c),
        "macd_hist": ta.trend.macd_diff(c),
        "bb_mid": ta.volatility.bollinger_mavg(c),
        "bb_upper": ta.volatility.bollinger_hband(c),
        "bb_lower": ta.volatility.bollinger_lband(c),
    }


def test_every_indicator_matches_ta_on_real_data_after_warmup(eth: pd.DataFrame) -> None:
    ours = batch_indicators(eth["high"].to_numpy(), eth["low"].to_numpy(), eth["close"].to_numpy())
    close = eth["close"].to_numpy()
    oracle = _oracle(eth)
    for j, name in enumerate(INDICATOR_COLUMNS):
        theirs = oracle[name].to_numpy(dtype=np.float64)[WARMUP:]
        mine = ours[WARMUP:, j]
        assert np.isfinite(mine).all(), name
        if name.startswith("macd"):
            # a difference of two EMAs near 3000 that crosses zero: relative to the price level
            # it is built from (its own magnitude can be ~1e-3, below any rounding floor)
            rel = np.abs(mine - theirs) / close[WARMUP:]
        else:
            rel = np.abs(mine - theirs) / np.abs(theirs)
        assert rel.max() <= 1e-9, (name, rel.max())


def test_definitions_that_equal_ta_match_from_their_first_value(eth: pd.DataFrame) -> None:
    ours = batch_indicators(eth["high"].to_numpy(), eth["low"].to_numpy(), eth["close"].to_numpy())
    oracle = _oracle(eth)
    for name, first in (("sma_50", 49), ("atr_14", 13), ("bb_upper", 19)):
        j = INDICATOR_COLUMNS.index(name)
        assert np.isnan(ours[:first, j]).all()
        theirs = oracle[name].to_numpy(dtype=np.float64)[first:]
        np.testing.assert_allclose(ours[first:, j], theirs, rtol=1e-9)


def test_seeds_follow_the_documented_definitions() -> None:
    close = np.array([10.0, 11, 12, 11, 13, 14, 13, 15, 16, 17, 15, 18, 19, 20, 21, 19.5])
    high, low = close + 1.0, close - 0.5
    out = batch_indicators(high, low, close)
    col = {name: out[:, j] for j, name in enumerate(INDICATOR_COLUMNS)}
    # EMA 12 starts at index 11 with the SMA of the first 12 closes, then a = 2/13
    assert col["ema_12"][11] == pytest.approx(close[:12].mean(), rel=1e-15)
    assert col["ema_12"][12] == pytest.approx(
        close[:12].mean() + 2 / 13 * (close[12] - close[:12].mean()), rel=1e-14
    )
    # RSI 14 at index 14: Wilder's mean gain / mean loss over the first 14 changes
    changes = np.diff(close[:15])
    gain, loss = changes[changes > 0].sum() / 14, -changes[changes < 0].sum() / 14
    assert col["rsi_14"][14] == pytest.approx(100 - 100 / (1 + gain / loss), rel=1e-13)
    assert np.isnan(col["rsi_14"][13])
    # ATR 14 at index 13: the mean of the first 14 true ranges (the first is high - low)
    prev = close[:13]
    tr = np.r_[1.5, np.maximum(1.5, np.maximum(abs(high[1:14] - prev), abs(low[1:14] - prev)))]
    assert col["atr_14"][13] == pytest.approx(tr.mean(), rel=1e-14)


def test_rsi_is_100_when_prices_only_rise() -> None:
    close = np.arange(1.0, 40.0)
    out = batch_indicators(close + 0.5, close - 0.5, close)
    rsi = out[:, INDICATOR_COLUMNS.index("rsi_14")]
    assert np.isnan(rsi[:14]).all()
    assert (rsi[14:] == 100.0).all()


def test_block_smoother_equals_the_plain_recursion() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(100, 5, size=1000)
    for alpha, start in ((2 / 13, 0), (1 / 14, 7), (0.5, 999)):
        y = smooth(x, alpha, start)
        ref = np.full(len(x), np.nan)
        ref[start] = x[start]
        for t in range(start + 1, len(x)):
            ref[t] = (1 - alpha) * ref[t - 1] + alpha * x[t]
        np.testing.assert_allclose(y, ref, rtol=1e-13)
    assert np.isnan(ema(x[:5], 12)).all()


def test_incremental_equals_batch_on_real_data(eth: pd.DataFrame) -> None:
    h, lo, c = (eth[k].to_numpy() for k in ("high", "low", "close"))
    batch = batch_indicators(h, lo, c)
    state = IndicatorState()
    inc = np.array([state.update(a, b, x) for a, b, x in zip(h, lo, c, strict=True)])
    assert (np.isnan(inc) == np.isnan(batch)).all()
    diff = np.abs(np.nan_to_num(inc) - np.nan_to_num(batch)) / c[:, None]
    assert diff.max() <= 1e-12

"""A seeded synthetic market: volatility clustering, fat tails, trends and ranges.

Clearly synthetic: everything built from it is labelled ``synthetic`` where shown.

>>> df = synthetic_candles(5, "1m", start_ms=0, seed=7)
>>> list(df.columns)
['open_time', 'open', 'high', 'low', 'close', 'volume']
>>> bool((df["high"] >= df[["open", "close"]].max(axis=1)).all())
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ghostcandle.domain.timeframes import duration_ms


def synthetic_candles(
    count: int,
    timeframe: str,
    *,
    start_ms: int,
    seed: int,
    start_price: float = 3000.0,
    base_vol: float | None = None,
) -> pd.DataFrame:
    """Return ``count`` candles of a GARCH(1,1) random walk with Student-t shocks and regimes.

    ``base_vol`` is the per-candle log-return volatility (default scales with the timeframe).
    """
    rng = np.random.default_rng(seed)
    d = duration_ms(timeframe)
    if base_vol is None:
        base_vol = 0.0008 * float(np.sqrt(d / 60_000))
    omega, alpha, beta = base_vol**2 * 0.05, 0.08, 0.87
    shocks = rng.standard_t(df=4, size=count) / np.sqrt(2.0)
    # regimes: trend (+/-) or range, switching every few hundred candles
    regime_len = rng.integers(150, 600, size=max(1, count // 150 + 1))
    drift_choices = np.array([0.0, 0.0, 0.15, -0.15]) * base_vol
    drifts = np.repeat(rng.choice(drift_choices, size=len(regime_len)), regime_len)[:count]
    var = base_vol**2
    rets = np.empty(count)
    for i in range(count):
        eps = np.sqrt(var) * shocks[i]
        rets[i] = drifts[i] + eps
        var = omega + alpha * eps**2 + beta * var
    close = start_price * np.exp(np.cumsum(rets))
    open_ = np.r_[start_price, close[:-1]]
    spread = (
        np.abs(rng.standard_t(df=4, size=(count, 2)))
        * np.sqrt(np.abs(rets) * base_vol + base_vol**2)[:, None]
        * 0.6
    )
    high = np.maximum(open_, close) * (1 + spread[:, 0])
    low = np.minimum(open_, close) * (1 - spread[:, 1])
    # busier candles trade more: volume grows with the size of the move
    volume = np.exp(rng.normal(3.0, 0.5, size=count)) * (1 + 5 * np.abs(rets) / base_vol)
    t0 = start_ms - start_ms % d
    return pd.DataFrame(
        {
            "open_time": t0 + d * np.arange(count, dtype=np.int64),
            "open": np.round(open_, 2),
            "high": np.round(high, 2),
            "low": np.round(low, 2),
            "close": np.round(close, 2),
            "volume": np.round(volume, 4),
        }
    ).pipe(_fix_rounding)


def _fix_rounding(df: pd.DataFrame) -> pd.DataFrame:
    """Keep high/low bounding open/close after rounding prices to cents."""
    df["high"] = np.maximum(df["high"], np.maximum(df["open"], df["close"]))
    df["low"] = np.minimum(df["low"], np.minimum(df["open"], df["close"]))
    return df

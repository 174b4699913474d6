"""Roll lower-timeframe candles up into higher ones.

A bucket of the higher timeframe takes the open of its first sub-candle, the max high, the min
low, the close of its last sub-candle and the summed volume. ``n_parts`` says how many
sub-candles it was built from; ``complete`` is true only when every expected sub-candle was
there. An incomplete bucket is never passed off as complete.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ghostcandle.domain.candles import canonical
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import duration_ms


def rollup(df: pd.DataFrame, from_tf: str, to_tf: str) -> pd.DataFrame:
    """Aggregate canonical candles of ``from_tf`` into ``to_tf`` buckets.

    Returns the canonical columns plus ``n_parts`` (int64) and ``complete`` (bool).
    """
    small, big = duration_ms(from_tf), duration_ms(to_tf)
    if big <= small or big % small:
        raise UserInputError(
            f"cannot roll {from_tf} up into {to_tf}: the target must be a multiple of the source"
        )
    df = canonical(df)
    t = df["open_time"].to_numpy()
    if len(t) == 0:
        out = df.copy()
        out["n_parts"] = np.empty(0, dtype=np.int64)
        out["complete"] = np.empty(0, dtype=bool)
        return out
    bucket = t - (t % big)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(t)] - 1
    high = np.maximum.reduceat(df["high"].to_numpy(), starts)
    low = np.minimum.reduceat(df["low"].to_numpy(), starts)
    volume = np.add.reduceat(df["volume"].to_numpy(), starts)
    n_parts = (ends - starts + 1).astype(np.int64)
    return pd.DataFrame(
        {
            "open_time": bucket[starts],
            "open": df["open"].to_numpy()[starts],
            "high": high,
            "low": low,
            "close": df["close"].to_numpy()[ends],
            "volume": volume,
            "n_parts": n_parts,
            "complete": n_parts == big // small,
        }
    )

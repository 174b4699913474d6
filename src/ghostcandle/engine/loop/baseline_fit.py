"""A session's baselines, their constants fitted on the candles closed before it starts.

A session's training data, for a baseline, is the history stored when the session starts: the
last ``FIT_CANDLES`` candles of the base timeframe of each symbol that closed by then. So the
fit never reads a candle of the period the session predicts, a replay from the same start fits
the same constants, and a restarted session fits on what it knows at its restart.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.models.base import Model
from ghostcandle.models.registry import FITTED_BASELINES, fit_baseline
from ghostcandle.store.candles import CandleStore

#: Candles per symbol a baseline is fitted on (about 3.5 days of 1m candles).
FIT_CANDLES = 5000


def fitted_baseline(
    model: Model, candles: CandleStore, symbols: Sequence[str], now: int, threshold: float
) -> Model:
    """Return ``model`` fitted on the base-timeframe candles closed by ``now`` (if it fits)."""
    if model.name not in FITTED_BASELINES:
        return model
    tf = model.timeframes[0]
    cols = list(VALUE_COLUMNS)
    # only candles closed by now: open times up to now minus one candle
    last_open = now - duration_ms(tf)
    history = [
        candles.tail(symbol, tf, last_open, FIT_CANDLES)[cols].to_numpy(dtype=np.float64)
        for symbol in symbols
    ]
    return fit_baseline(model, history, threshold)

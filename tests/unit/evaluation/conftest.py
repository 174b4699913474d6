"""Ledger frames built by hand: resolved predictions of one model on one series."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ghostcandle.domain.actions import ACTIONS, actions_from_moves

M = 60_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % M
SYM = "ETH/USDT"
THRESHOLD = 0.002


def market(n: int, seed: int = 0, start: float = 100.0) -> np.ndarray:
    """Return ``(n + 1, 5)`` OHLCV rows of a random walk: row 0 is the first decision candle."""
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0.0, 0.004, n + 1)))
    open_ = np.concatenate(([start], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.002, n + 1))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.002, n + 1))
    volume = rng.uniform(10, 20, n + 1)
    return np.column_stack([open_, high, low, close, volume])


def ledger(
    model: str,
    candles: np.ndarray,
    pred: np.ndarray,
    *,
    actions: Sequence[str] | None = None,
    probs: np.ndarray | None = None,
    symbol: str = SYM,
    timeframe: str = "1m",
    keep: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return the resolved rows of ``model`` predicting candles 1..n of ``candles``.

    ``pred`` is ``(n, 5)``; target ``i`` is decided at the close of candle ``i - 1`` (its
    ``ref_close``); ``keep`` selects the targets that resolved (the rest expired).
    """
    step = 60_000 if timeframe == "1m" else 3_600_000
    n = len(candles) - 1
    actual = candles[1:]
    ref = candles[:-1, 3]
    times = T0 + step * np.arange(1, n + 1)
    if probs is None:
        probs = np.tile([0.5, 0.3, 0.2], (n, 1))
    if actions is None:
        actions = [ACTIONS[int(i)].name for i in np.argmax(probs, axis=1)]
    labels = actions_from_moves(ref, actual[:, 3], THRESHOLD)
    df = pd.DataFrame(
        {
            "model": model,
            "symbol": symbol,
            "timeframe": timeframe,
            "decision_time": times,
            "target_open_time": times,
            "status": "resolved",
            "ref_close": ref,
            **{f"pred_{f}": pred[:, i] for i, f in enumerate(FIELDS)},
            **{f"actual_{f}": actual[:, i] for i, f in enumerate(FIELDS)},
            "action": list(actions),
            "p_hold": probs[:, 0],
            "p_buy": probs[:, 1],
            "p_sell": probs[:, 2],
            "action_correct": [
                a == ACTIONS[int(k)].name for a, k in zip(actions, labels, strict=True)
            ],
            "confidence": probs.max(axis=1),
        }
    )
    return df if keep is None else df[keep].reset_index(drop=True)


FIELDS = ("open", "high", "low", "close", "volume")


def persistence(candles: np.ndarray) -> np.ndarray:
    """Return persistence's predictions: every field of the next candle = the last close."""
    n = len(candles) - 1
    out = np.repeat(candles[:-1, 3:4], 5, axis=1)
    out[:, 4] = candles[:-1, 4]
    return out.reshape(n, 5)

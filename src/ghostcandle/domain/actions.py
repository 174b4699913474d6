"""Trading actions and the price-move label (pure: no torch, shared by store, models, engine).

>>> Action.BUY.name, int(Action.SELL)
('BUY', 2)
>>> action_from_move(100.0, 100.06).name
'BUY'
>>> action_from_move(100.0, 99.99).name
'HOLD'
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

#: Default relative move (0.05%) above which the next close labels BUY, below minus it SELL.
DEFAULT_MOVE_THRESHOLD = 0.0005


class Action(IntEnum):
    """What a model advises at a decision time; the int is the index in probability vectors."""

    HOLD = 0
    BUY = 1
    SELL = 2


#: Index -> action, in the order of every probability vector (HOLD, BUY, SELL).
ACTIONS: tuple[Action, ...] = (Action.HOLD, Action.BUY, Action.SELL)


def check_threshold(threshold: float) -> float:
    """Return ``threshold`` if it is a usable relative move, else raise a one-line ValueError."""
    if not (np.isfinite(threshold) and 0.0 <= threshold < 1.0):
        raise ValueError(
            f"move threshold {threshold!r} is not a fraction in [0, 1): give e.g. 0.0005 for 0.05%"
        )
    return threshold


def action_from_move(
    last_close: float, next_close: float, threshold: float = DEFAULT_MOVE_THRESHOLD
) -> Action:
    """Label the move from ``last_close`` to ``next_close``: BUY above +threshold, SELL below -."""
    check_threshold(threshold)
    change = (next_close - last_close) / last_close
    if change > threshold:
        return Action.BUY
    if change < -threshold:
        return Action.SELL
    return Action.HOLD


def actions_from_moves(
    last_close: np.ndarray, next_close: np.ndarray, threshold: float = DEFAULT_MOVE_THRESHOLD
) -> np.ndarray:
    """Label many moves at once (int64 array of ``Action`` values), as ``action_from_move``."""
    check_threshold(threshold)
    change = (np.asarray(next_close, np.float64) - last_close) / np.asarray(last_close, np.float64)
    out = np.full(change.shape, int(Action.HOLD), dtype=np.int64)
    out[change > threshold] = int(Action.BUY)
    out[change < -threshold] = int(Action.SELL)
    return out

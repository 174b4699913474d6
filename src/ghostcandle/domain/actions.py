"""Trading actions and the price-move label, net of round-trip costs (pure: no torch, no I/O).

The one labelling rule, used by the training policy, the resolver's ``action_correct``, the
majority baseline and anything else that labels: the move from the last close to the next
close is BUY when it is above ``+threshold``, SELL below ``-threshold``, HOLD in between. The
default threshold is the round-trip cost of the simulated broker at its default settings
(``BrokerConfig().round_trip_cost``: two fills of fee plus slippage, 0.2% with 10 bps fees), so
BUY and SELL name only moves that would have paid for entering and leaving a position. The
costs do not depend on the candle length, so the floor is the same for every timeframe.

Volatility scaling is offered, off by default: ``label_threshold(cost, relative_range, k)``
is ``max(cost, k x relative_range)``, where ``relative_range`` is the mean ``(high - low) /
close`` of the input window (known at decision time). It is off because the fixed floor is what
the broker charges, and a regime-dependent threshold would change the class balance from one
session to the next, so accuracies would not compare.

>>> Action.BUY.name, int(Action.SELL)
('BUY', 2)
>>> DEFAULT_MOVE_THRESHOLD  # 2 x 10 bps fee, no slippage
0.002
>>> action_from_move(100.0, 100.1).name, action_from_move(100.0, 100.5).name
('HOLD', 'BUY')
>>> action_from_move(100.0, 100.06, threshold=0.0005).name
'BUY'
>>> label_threshold(0.002, relative_range=0.003, range_multiple=1.0)
0.003
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from ghostcandle.domain.broker_config import BrokerConfig

#: Cost of a round trip (entry and exit fills) with the broker's default fee and slippage.
ROUND_TRIP_COST = BrokerConfig().round_trip_cost
#: Default relative move above which the next close labels BUY, below minus it SELL: the
#: round-trip cost, so a BUY or SELL label always names a move that paid its costs.
DEFAULT_MOVE_THRESHOLD = ROUND_TRIP_COST


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
            f"move threshold {threshold!r} is not a fraction in [0, 1): give e.g. 0.002 for 0.2%"
        )
    return threshold


def label_threshold(
    cost: float = ROUND_TRIP_COST, *, relative_range: float = 0.0, range_multiple: float = 0.0
) -> float:
    """Return the label threshold: the round-trip ``cost``, or more in volatile windows.

    ``max(cost, range_multiple x relative_range)``; ``range_multiple=0`` (the default) turns
    the volatility scaling off.
    """
    return max(check_threshold(cost), range_multiple * max(relative_range, 0.0))


def threshold_warning(threshold: float, cost: float = ROUND_TRIP_COST) -> str | None:
    """Return a one-line warning when ``threshold`` is below the round-trip ``cost``, else None."""
    if threshold >= cost:
        return None
    return (
        f"label threshold {threshold:.4%} is below the round-trip cost {cost:.4%}: BUY/SELL "
        "labels then include moves that lose money after fees"
    )


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

"""What a DQN learns from: target positions, rewards net of fees, n-step returns (numpy only).

Actions are **target positions** with the broker's semantics (``domain.broker``): BUY means be
long (+1), SELL be short (-1), HOLD be flat (0) with ``hold="flat"`` (the default) or keep the
position held with ``hold="keep"``. The agent's state is the frame's windows plus the position
it holds going into the decision.

**Reward** of action ``a`` taken with position ``p`` at a decision whose reference close is
``c0``, over a horizon of ``h`` candles of the base timeframe (``c_h`` the close ``h`` candles
later; ``h = 1``: the next candle)::

    target = position_of(a, p)
    reward = scale x (target x (c_h / c0 - 1)  -  fee x |target - p|)

``fee`` is one fill's cost (fee plus slippage, half the broker's round trip), charged per unit
of position changed, so going from short to long pays two fills. ``scale`` (default 1000)
expresses rewards in tenths of a percent, so Q-values are of order one. The position is marked
close to close (the broker fills at the next open, which on a continuous market is the close).

**n-step return** of the transitions ``t .. t+n-1`` of one episode::

    R_t = r_t + gamma r_{t+1} + ... + gamma^(n-1) r_{t+n-1},   bootstrapped by gamma^n Q(s_{t+n})

An episode's last transitions have fewer steps ahead; their return sums what there is and their
discount is ``gamma^k`` for the ``k`` steps summed (the end of stored candles is a time limit,
not a terminal state, so every transition bootstraps).

>>> position_of(np.array([0, 1, 2]), np.array([1, 1, 1]), "flat").tolist()
[0, 1, -1]
>>> position_of(np.array([0]), np.array([-1]), "keep").tolist()
[-1]
>>> [round(float(x), 6) for x in rewards(np.array([0]), np.array([1]), np.array([0.01]), 0.001)]
[9.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The three positions, by index of the one-hot the network reads: flat, long, short.
POSITIONS: tuple[int, ...] = (0, 1, -1)
#: Reward units per unit of relative return (1000: a 0.1% move earns 1.0).
DEFAULT_REWARD_SCALE = 1000.0


def position_of(actions: np.ndarray, held: np.ndarray, hold: str = "flat") -> np.ndarray:
    """Return the target position (-1, 0, 1) of each action given the position ``held``."""
    a = np.asarray(actions, np.int64)
    p = np.asarray(held, np.int64)
    flat_or_keep = p if hold == "keep" else np.zeros_like(p)
    out: np.ndarray = np.where(a == 1, 1, np.where(a == 2, -1, flat_or_keep))
    return out


def position_index(positions: np.ndarray) -> np.ndarray:
    """Return the one-hot index of each position (flat 0, long 1, short 2)."""
    p = np.asarray(positions, np.int64)
    if not np.isin(p, POSITIONS).all():
        raise ValueError("positions must be -1 (short), 0 (flat) or 1 (long)")
    out: np.ndarray = np.where(p == -1, 2, p)
    return out


def rewards(
    held: np.ndarray,
    actions: np.ndarray,
    moves: np.ndarray,
    fee: float,
    *,
    hold: str = "flat",
    scale: float = DEFAULT_REWARD_SCALE,
) -> np.ndarray:
    """Return the reward of each action (see the module doc); ``moves`` are ``c_h / c0 - 1``."""
    p = np.asarray(held, np.int64)
    target = position_of(actions, p, hold)
    out: np.ndarray = scale * (target * np.asarray(moves, np.float64) - fee * np.abs(target - p))
    return out


@dataclass(frozen=True)
class NStep:
    """n-step returns of transitions: the summed reward, where to bootstrap, and its discount."""

    returns: np.ndarray
    #: per transition: the index (into the episode) of the state bootstrapped from
    next_index: np.ndarray
    #: per transition: ``gamma ** k`` for the ``k`` rewards summed
    discount: np.ndarray


def n_step_returns(episode_rewards: np.ndarray, n: int, gamma: float) -> NStep:
    """Return the n-step returns of one episode's rewards, in order (see the module doc).

    Transition ``t`` goes from state ``t`` to state ``t + 1``; its return bootstraps from state
    ``min(t + n, T)`` where ``T`` is the episode's length (its final state).
    """
    if n < 1:
        raise ValueError(f"n-step {n} must be at least 1")
    r = np.asarray(episode_rewards, np.float64)
    size = len(r)
    out = np.zeros(size)
    k = np.minimum(np.arange(size) + n, size) - np.arange(size)
    for j in range(n):  # n is small: one vectorised pass per step ahead
        ahead = np.arange(size) + j
        ok = j < k
        out[ok] += gamma**j * r[ahead[ok]]
    return NStep(out, np.arange(size) + k, gamma ** k.astype(np.float64))

"""A DQN acting over stored decisions: the steps of an episode, a rollout, experience batches.

An **episode** walks a dataset's decisions in time order, one step every ``horizon`` candles of
the base timeframe: the state at decision ``t`` (its frame) with the position held, the action,
the reward of the position over the next ``horizon`` candles net of fees (``models/dqn_replay``),
and the next state at ``t + horizon``. A gap in the stored candles ends a segment (the step into
it has no next state), so no transition ever spans missing candles.

A **rollout** acts on a chunk of steps with one snapshot of the weights: since the position only
enters the Q head, the Q-values of each state are computed once per possible position (three
batched forward passes), then the positions are walked in order, so acting costs batched
inference, not one forward pass per decision. Acting is epsilon-greedy with a seeded generator;
validation acts greedily.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.engine.offline.dataset import DecisionDataset
from ghostcandle.engine.samples.experience_replay import Experiences
from ghostcandle.models.base import ModelInputs, TrainingBatch
from ghostcandle.models.dqn import DqnModel
from ghostcandle.models.dqn_replay import POSITIONS, n_step_returns, position_of, rewards


@dataclass(frozen=True)
class Segment:
    """Consecutive steps: state rows, the row each steps to, and the move it is paid."""

    states: np.ndarray
    next_rows: np.ndarray
    moves: np.ndarray

    def __len__(self) -> int:
        return len(self.states)


def segments(data: DecisionDataset, rows: np.ndarray, horizon: int) -> list[Segment]:
    """Return the episode segments over ``rows`` (ascending dataset rows), a step per horizon."""
    allowed = np.zeros(len(data), bool)
    allowed[rows] = True
    d = duration_ms(data.target_timeframe) * horizon
    t = data.decision_time
    tf = data.target_timeframe
    out: list[Segment] = []
    current: list[int] = []

    def valid(i: int) -> bool:
        j = i + horizon
        return j < len(data) and bool(allowed[j]) and int(t[j]) == int(t[i]) + d

    def close() -> None:
        if current:
            s = np.array(current, np.int64)
            nxt = s + horizon
            closes = data.values[tf][data.target_row[s] + horizon - 1, 3]
            out.append(Segment(s, nxt, closes / data.ref_close(s) - 1.0))
            current.clear()

    i = int(rows[0]) if len(rows) else 0
    last = int(rows[-1]) if len(rows) else -1
    while i <= last:
        if allowed[i] and valid(i):
            current.append(i)
            i += horizon
        else:
            close()
            i += 1
    close()
    return out


@dataclass(frozen=True)
class Rollout:
    """What the agent did on a chunk of steps."""

    held: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    #: the position held after the last step
    final: int


def _with_extras(inputs: ModelInputs, **extras: np.ndarray) -> ModelInputs:
    return ModelInputs(windows=inputs.windows, extras={**inputs.extras, **extras})


def rollout(
    model: DqnModel,
    data: DecisionDataset,
    seg: Segment,
    start: int,
    position: int,
    size: int,
    epsilon: float,
    rng: np.random.Generator,
) -> Rollout:
    """Act on steps ``start .. start + size`` of ``seg`` from ``position`` (see module doc)."""
    cfg = model.cfg
    part = slice(start, start + size)
    inputs, _ = data.inputs(seg.states[part])
    n = len(seg.states[part])
    q = {
        p: model.q_values(_with_extras(inputs, position=np.full(n, p, np.float32)))
        for p in POSITIONS
    }
    explore = rng.random(n) < epsilon
    drawn = rng.integers(0, 3, n)
    held = np.zeros(n, np.int64)
    acts = np.zeros(n, np.int64)
    p = position
    for i in range(n):
        held[i] = p
        a = int(drawn[i]) if explore[i] else int(np.argmax(q[p][i]))
        acts[i] = a
        p = int(position_of(np.array([a]), np.array([p]), cfg.hold)[0])
    r = rewards(held, acts, seg.moves[part], cfg.fee, hold=cfg.hold, scale=cfg.reward_scale)
    return Rollout(held, acts, r, p)


def experiences(
    model: DqnModel, seg: Segment, start: int, roll: Rollout, profit_priority: np.ndarray
) -> Experiences:
    """Return the n-step experiences of a rollout of ``seg`` from step ``start``.

    The chunk's end is a truncation: its last transitions sum the rewards there are and
    bootstrap from the chunk's final state with a shorter discount.
    """
    cfg = model.cfg
    n = len(roll.actions)
    ns = n_step_returns(roll.rewards, cfg.n_step, cfg.gamma)
    # state k of the chunk (k = n: the state after its last step) and the position held there
    states = np.append(seg.states[start : start + n], seg.next_rows[start + n - 1])
    held = np.append(roll.held, roll.final)
    return Experiences(
        state=states[:n],
        position=roll.held,
        action=roll.actions,
        reward=ns.returns,
        next_state=states[ns.next_index],
        next_position=held[ns.next_index],
        discount=ns.discount,
        profit_priority=profit_priority[states[:n]],
    )


def experience_batch(
    data: DecisionDataset, exp: Experiences, weights: np.ndarray | None
) -> TrainingBatch:
    """Return the training batch of ``exp``: states, next states, actions, rewards, weights."""
    labelled = data.batch(exp.state)
    nxt, _ = data.inputs(exp.next_state)
    inputs = _with_extras(labelled.inputs, position=exp.position.astype(np.float32))
    next_inputs = _with_extras(
        nxt, position=exp.next_position.astype(np.float32), discount=exp.discount
    )
    return replace(
        labelled,
        inputs=inputs,
        actions=exp.action.astype(np.int64),
        weights=weights,
        rewards=exp.reward.astype(np.float64),
        next_inputs=next_inputs,
    )


def greedy_reward(model: DqnModel, data: DecisionDataset, segs: list[Segment]) -> float:
    """Return the greedy policy's mean reward per step over ``segs`` (flat at each start)."""
    total, steps = 0.0, 0
    rng = np.random.default_rng(0)  # unused by a greedy rollout, but rollout takes one
    for seg in segs:
        pos = 0
        for a in range(0, len(seg), 1024):
            roll = rollout(model, data, seg, a, pos, 1024, 0.0, rng)
            pos = roll.final
            total += float(roll.rewards.sum())
            steps += len(roll.rewards)
    return total / max(1, steps)

"""The DQN agent: rewards and n-step returns by hand, the Double DQN target, acting, bad rewards."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.models.base import ModelInputs, TrainingBatch
from ghostcandle.models.dqn import DqnModel
from ghostcandle.models.dqn_replay import n_step_returns, position_of, rewards
from ghostcandle.models.registry import create_model

SMALL = {"timeframes": ["1m"], "windows": {"1m": 24}, "hidden": 16, "recent": 4}


def _model(**extra: object) -> DqnModel:
    m = create_model("dqn", **SMALL, **extra)
    assert isinstance(m, DqnModel)
    return m


def _inputs(seed: int, n: int, position: int | None = None) -> ModelInputs:
    rng = np.random.default_rng(seed)
    close = np.cumsum(rng.normal(size=(n, 24)), axis=1)
    w = np.stack([close, close + 1.0, close - 1.0, close, rng.uniform(1, 2, (n, 24))], axis=2)
    w -= np.concatenate([w[:, -1:, :4] * 1.0, np.zeros((n, 1, 1))], axis=2)  # last close 0
    extras = {} if position is None else {"position": np.full(n, position, np.float32)}
    return ModelInputs(windows={"1m": w.astype(np.float32)}, extras=extras)


def _experience(seed: int, n: int = 8, reward: float | None = None) -> TrainingBatch:
    rng = np.random.default_rng(seed)
    r = rng.normal(size=n) if reward is None else np.full(n, reward)
    return TrainingBatch(
        inputs=_inputs(seed, n, position=0),
        targets={"1m": np.full((n, 5), np.nan, np.float32)},
        actions=rng.integers(0, 3, n),
        rewards=r,
        next_inputs=_inputs(seed + 1, n, position=1),
    )


def test_rewards_by_hand() -> None:
    fee = 0.001
    held = np.array([0, 0, 0, -1, 1, 1])
    acts = np.array([1, 2, 0, 1, 0, 1])
    moves = np.array([0.01, 0.01, 0.01, 0.01, -0.02, -0.02])
    # long from flat: 1% - 1 fill; short from flat: -1% - 1 fill; flat: 0; short -> long:
    # +1% - 2 fills; long -> flat (HOLD): 0 - 1 fill; long kept: -2%, no fill
    want = [9.0, -11.0, 0.0, 8.0, -1.0, -20.0]
    assert rewards(held, acts, moves, fee).tolist() == pytest.approx(want)
    # HOLD keeps the position under hold="keep": no fill, the move is earned
    assert rewards(np.array([1]), np.array([0]), np.array([0.01]), fee, hold="keep")[0] == (
        pytest.approx(10.0)
    )
    assert position_of(np.array([0, 0]), np.array([1, -1]), "flat").tolist() == [0, 0]


def test_n_step_returns_by_hand() -> None:
    ns = n_step_returns(np.array([1.0, 2.0, 3.0, 4.0]), n=2, gamma=0.5)
    assert ns.returns.tolist() == [1 + 0.5 * 2, 2 + 0.5 * 3, 3 + 0.5 * 4, 4.0]
    assert ns.next_index.tolist() == [2, 3, 4, 4]
    assert ns.discount.tolist() == [0.25, 0.25, 0.25, 0.5]
    one = n_step_returns(np.array([1.0, 2.0]), n=1, gamma=0.9)
    assert one.returns.tolist() == [1.0, 2.0]
    assert one.discount.tolist() == pytest.approx([0.9, 0.9])


def test_double_dqn_target_by_hand() -> None:
    m = _model(target_sync=1000, learning_rate=0.05)
    for s in range(6):  # the online net moves away from the (unsynced) target net
        m.train_step(_experience(100 + s))
    batch = _experience(7, n=16)
    nxt = batch.next_inputs
    assert nxt is not None
    online_next = m.q_values(nxt)
    with torch.no_grad():
        h, _ = m.target.encode({"1m": torch.from_numpy(nxt.windows["1m"])})
        target_next = m.target.q_values(h, torch.ones(16, dtype=torch.int64)).double().numpy()
    pick = online_next.argmax(axis=1)
    assert (pick != target_next.argmax(axis=1)).any()  # the case tells double from plain DQN
    y = batch.rewards + m.cfg.gamma * target_next[np.arange(16), pick]
    q_before = m.q_values(batch.inputs)[np.arange(16), batch.actions]
    m.train_step(batch)
    np.testing.assert_allclose(m.last_td_errors, np.abs(q_before - y), rtol=1e-4, atol=1e-5)
    plain = batch.rewards + m.cfg.gamma * target_next.max(axis=1)
    assert not np.allclose(m.last_td_errors, np.abs(q_before - plain), rtol=1e-4, atol=1e-5)


def test_discount_from_the_next_state_overrides_gamma() -> None:
    m = _model()
    b = _experience(3, n=4)
    assert b.next_inputs is not None
    zero = TrainingBatch(
        inputs=b.inputs, targets=b.targets, actions=b.actions, rewards=b.rewards,
        next_inputs=ModelInputs(b.next_inputs.windows, {**b.next_inputs.extras,
                                                        "discount": np.zeros(4)}),
    )  # fmt: skip
    q = m.q_values(b.inputs)[np.arange(4), b.actions]
    m.train_step(zero)
    np.testing.assert_allclose(m.last_td_errors, np.abs(q - b.rewards), rtol=1e-4, atol=1e-5)


def test_target_network_syncs_every_k_steps_or_moves_by_tau() -> None:
    m = _model(target_sync=3)
    for s in range(2):
        m.train_step(_experience(s))
    online = m.net.state_dict()
    assert not all(torch.equal(v, m.target.state_dict()[k]) for k, v in online.items())
    m.train_step(_experience(2))
    assert all(torch.equal(v, m.target.state_dict()[k]) for k, v in m.net.state_dict().items())
    p = _model(tau=0.5)
    before = copy.deepcopy(p.target.state_dict())
    p.train_step(_experience(0))
    k = "value.0.weight"
    np.testing.assert_allclose(
        p.target.state_dict()[k], 0.5 * before[k] + 0.5 * p.net.state_dict()[k], rtol=1e-6
    )


def test_position_changes_q_but_not_the_forecast() -> None:
    m = _model()
    flat, long = m.predict(_inputs(1, 4, 0)), m.predict(_inputs(1, 4, 1))
    assert np.array_equal(flat.candles["1m"], long.candles["1m"])
    assert not np.allclose(m.q_values(_inputs(1, 4, 0)), m.q_values(_inputs(1, 4, 1)))
    assert np.array_equal(m.predict(_inputs(1, 4)).action_probs, flat.action_probs)


def test_epsilon_greedy_is_seeded_and_greedy_by_default() -> None:
    greedy = _model()
    inputs = _inputs(2, 64)
    q = greedy.q_values(inputs)
    assert np.array_equal(greedy.predict(inputs).actions, q.argmax(axis=1))
    explorer = _model(explore_epsilon=1.0)
    a, b = explorer.predict(inputs), explorer.predict(inputs)
    assert np.array_equal(a.action_probs, b.action_probs)  # a pure function of the input
    assert not np.array_equal(a.actions, q.argmax(axis=1))
    assert set(a.actions.tolist()) == {0, 1, 2}
    np.testing.assert_allclose(a.action_probs.sum(axis=1), 1.0)


def test_a_non_finite_reward_is_discarded_and_the_weights_kept() -> None:
    m = _model()
    trainer = Trainer(m, clock=LiveClock(), step_timeout_s=30.0).start()
    try:
        good = trainer.submit(_experience(1)).result()
        assert good.ok
        version = trainer.snapshot.model.version
        state = trainer.snapshot.model.state_dict()
        bad = trainer.submit(_experience(2, reward=float("nan"))).result()
        assert not bad.ok
        assert "non-finite reward" in bad.error
        assert trainer.snapshot.model.version == version
        after = trainer.snapshot.model.state_dict()
        assert all(torch.equal(v, after["weights"][k]) for k, v in state["weights"].items())
        assert trainer.submit(_experience(3)).result().ok  # training goes on
    finally:
        trainer.stop(timeout_s=30.0)


def test_demonstrations_teach_the_labelled_action() -> None:
    m = _model(learning_rate=0.01)
    inputs = _inputs(5, 16)
    labels = np.array([1, 2] * 8)
    batch = TrainingBatch(inputs=inputs, targets={}, actions=labels)
    for _ in range(60):
        m.train_step(batch)
    assert (m.predict(inputs).actions == labels).mean() >= 0.9


@pytest.mark.parametrize("bad", [{"gamma": 1.5}, {"hold": "maybe"}, {"n_step": 0}, {"tau": 2}])
def test_bad_settings_are_one_line(bad: dict[str, object]) -> None:
    with pytest.raises(UserInputError, match="dqn"):
        create_model("dqn", **SMALL, **bad)

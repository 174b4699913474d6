"""The ``dqn`` family: a Double DQN agent with a dueling head and an auxiliary next-candle head.

**State**: the frame's windows (every configured timeframe) plus the position held going into
the decision, given as ``inputs.extras["position"]`` (``(B,)`` of -1, 0, 1; absent means flat,
which is what a session or a backtest that does not track the agent's position gives it).
**Actions** HOLD / BUY / SELL are target positions with the broker's semantics and the
**reward** is the position's result over ``horizon`` candles net of fees (``models/dqn_replay``).

**Acting** (``predict``): the action is ``argmax Q``; the probabilities are ``softmax(Q /
temperature)`` (Q in reward units: 1.0 = 0.1%), so the confidence is how clearly the best action
leads. With ``explore_epsilon > 0`` (a live session that should keep exploring) a row acts at
random with that probability: the drawn action is moved to the top of its probabilities. The
draw is seeded by (seed, step, the input's bytes), so ``predict`` stays a pure function of the
weights and the input. At 0 (the default, and what offline validation and backtests use) it is
greedy.

**Learning** (``train_step``), two kinds of batch through the one trainer:

- an **experience batch** (``rewards`` and ``next_inputs`` given; ``actions`` the actions
  taken): the Double DQN target ``y = R + d x Q_target(s', argmax_a Q_online(s', a))`` with
  ``d = next_inputs.extras["discount"]`` (``gamma ** n`` for an n-step return ``R``; default
  ``gamma ** n_step``), the Huber loss of ``Q(s, a) - y`` weighted by the importance weights
  ``weights`` (prioritised replay). The absolute TD errors of the batch, measured before the
  update, are kept in ``last_td_errors`` for the replay's priorities. A non-finite reward or
  discount fails the step with a one-line error before anything changes, so the trainer
  discards it and the last good weights stay;
- a **labelled batch** (no rewards: annotations, the live policy's labels): demonstrations, the
  large-margin loss ``max_a (Q(s, a) + m [a != a_E]) - Q(s, a_E)`` over labelled rows.

Either way the next-candle heads learn the known targets (pinball loss, ``candle.<tf>``) and the
Q part is reported as ``action`` (times ``action_weight``). The **target network** is a copy of
the online one, synced every ``target_sync`` steps, or moved towards it by ``tau`` every step
(Polyak) when ``tau > 0``.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional

from ghostcandle.domain.broker_config import HOLDS
from ghostcandle.domain.errors import UserInputError
from ghostcandle.models import traced
from ghostcandle.models.base import Model, ModelInputs, ModelOutputs, TrainingBatch
from ghostcandle.models.config import parse_config, positive
from ghostcandle.models.dqn_net import DqnActing, DqnNet, held_one_hot
from ghostcandle.models.dqn_replay import DEFAULT_REWARD_SCALE, position_index
from ghostcandle.models.excursion_heads import Scales, excursion_losses
from ghostcandle.models.losses import weighted_mean
from ghostcandle.models.torch_model import STATE_FORMAT, LearningConfig, LearningModel


@dataclass(frozen=True, kw_only=True)
class DqnConfig(LearningConfig):
    """Network, Q-learning, exploration and reward settings (see the module doc)."""

    hidden: int = 64
    layers: int = 2
    recent: int = 16
    halflife: float = 16.0
    gamma: float = 0.9
    n_step: int = 1
    #: hard target sync every this many steps (used when ``tau`` is 0)
    target_sync: int = 100
    #: Polyak factor per step (> 0 replaces the hard sync)
    tau: float = 0.0
    huber_delta: float = 1.0
    #: margin of the demonstration loss, in reward units
    demo_margin: float = 0.8
    temperature: float = 1.0
    explore_epsilon: float = 0.0
    #: candles of the base timeframe a position is held for (the reward's horizon)
    horizon: int = 1
    reward_scale: float = DEFAULT_REWARD_SCALE
    fee_bps: float = 10.0
    slippage_bps: float = 0.0
    hold: str = "flat"

    @property
    def fee(self) -> float:
        """Return one fill's cost as a fraction (fee plus slippage)."""
        return (self.fee_bps + self.slippage_bps) / 10_000.0


def _float_tensor(x: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))


class DqnModel(LearningModel):
    """The ``dqn`` family (see the module doc)."""

    family = "dqn"
    cfg: DqnConfig

    def __init__(self, cfg: DqnConfig) -> None:
        super().__init__(cfg)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.net = DqnNet(
                self._windows,
                hidden=cfg.hidden,
                layers=cfg.layers,
                recent=cfg.recent,
                halflife=cfg.halflife,
            )
        #: the online net's acting forward, traced for small batches (``models.traced``)
        self.acting = DqnActing(self.net)
        self.target = copy.deepcopy(self.net)
        self.target.requires_grad_(False)
        self.net.eval()
        self.target.eval()
        self.optimizer = torch.optim.AdamW(
            self.net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
        self._step = 0
        #: |TD error| per row of the last experience batch, before its update
        self.last_td_errors: np.ndarray = np.zeros(0)

    @property
    def reads_position(self) -> bool:
        """Say that this agent reads the position it holds (``inputs.extras["position"]``)."""
        return True

    # -- inputs -----------------------------------------------------------------------------
    def _tensors(self, inputs: ModelInputs) -> dict[str, Tensor]:
        return {
            tf: _float_tensor(self._input_window(inputs, tf, np.float32)) for tf in self._windows
        }

    def _positions(self, inputs: ModelInputs) -> Tensor:
        raw = inputs.extras.get("position")
        n = inputs.batch_size
        if raw is None:
            return torch.zeros(n, dtype=torch.int64)
        p = np.asarray(raw).reshape(-1)
        if p.shape[0] != n:
            raise ValueError(f"{p.shape[0]} positions for {n} samples: give one per sample")
        return torch.from_numpy(position_index(np.rint(p).astype(np.int64)))

    # -- acting -----------------------------------------------------------------------------
    def q_values(self, inputs: ModelInputs) -> np.ndarray:
        """Return the online network's ``(B, 3)`` Q-values (HOLD, BUY, SELL) in reward units."""
        with torch.inference_mode():
            h, _ = self.net.encode(self._tensors(inputs))
            out: np.ndarray = self.net.q_values(h, self._positions(inputs)).double().numpy()
        return out

    @property
    def architecture(self) -> tuple[str, str, tuple[tuple[str, int], ...]]:
        """Return what fixes the acting forward's function of its weights (``models.traced``)."""
        return (f"{self.family}.acting", self.cfg.digest(), tuple(self._windows.items()))

    def predict(self, inputs: ModelInputs) -> ModelOutputs:
        """Predict next candles and act (greedy, or epsilon-greedy if configured).

        The acting forward is traced for a tick's small batches (``models.traced``: the eager
        forward's bits, checked when traced), eager while the net trains.
        """
        with torch.inference_mode():
            windows = self._tensors(inputs)
            held = held_one_hot(self._positions(inputs), torch.float32)
            if self.net.training:
                made, q = self.acting(windows, held)
            else:
                made, q = traced.forward(self.acting, self.architecture, windows, held)
            candles = {tf: c.double().numpy() for tf, c in made.items()}
            probs = torch.softmax(q.double() / self.cfg.temperature, dim=1).numpy()
        if self.cfg.explore_epsilon > 0:
            probs = self._explore(inputs, probs)
        return ModelOutputs(candles=candles, action_probs=probs)

    def _explore(self, inputs: ModelInputs, probs: np.ndarray) -> np.ndarray:
        first = np.ascontiguousarray(next(iter(inputs.windows.values())))
        rng = np.random.default_rng([self.cfg.seed, self._step, zlib.crc32(first.tobytes())])
        n = len(probs)
        explore = rng.random(n) < self.cfg.explore_epsilon
        drawn = rng.integers(0, 3, n)
        out = probs.copy()
        for i in np.flatnonzero(explore).tolist():
            top = int(np.argmax(out[i]))
            a = int(drawn[i])
            out[i, [top, a]] = out[i, [a, top]]
            if a != top:  # the drawn action must lead, not tie
                out[i, a] += 1e-9
                out[i] /= out[i].sum()
        return out

    # -- learning ---------------------------------------------------------------------------
    def train_step(self, batch: TrainingBatch) -> dict[str, float]:
        """Apply one AdamW step (experience or demonstrations) and return its loss components."""
        n = batch.batch_size
        windows = self._tensors(batch.inputs)
        positions = self._positions(batch.inputs)
        experience = batch.rewards is not None
        reward, discount = self._returns(batch) if experience else (None, None)
        if batch.next_inputs is not None and experience:
            # one feature pass over states and next states: features have no weights
            nxt = self._tensors(batch.next_inputs)
            windows = {tf: torch.cat([w, nxt[tf]]) for tf, w in windows.items()}
        targets = {tf: _float_tensor(t) for tf, t in batch.targets.items()}
        actions = torch.from_numpy(np.asarray(batch.actions, np.int64))
        weights = None if batch.weights is None else _float_tensor(batch.weights)
        with torch.no_grad():
            feats, scales_all = self.net.features(windows)
        scales = {tf: Scales(s.close[:n], s.sigma[:n], s.level[:n]) for tf, s in scales_all.items()}
        self.net.train()
        try:
            h = self.net.trunk(feats[:n])
            raw, q = self.net.candles(h), self.net.q_values(h, positions)
            unlabelled = torch.full_like(actions, -1)
            try:
                parts = excursion_losses(raw, scales, q, targets, unlabelled, weights, 1.0)
                parts.pop("loss")
            except ValueError:  # no known target candle: only the Q part learns
                parts = {}
            if reward is not None and discount is not None and batch.next_inputs is not None:
                y = self._td_target(feats[n:], batch.next_inputs, reward, discount)
                taken = q.gather(1, actions[:, None])[:, 0]
                self.last_td_errors = (taken - y).detach().abs().double().numpy()
                per = functional.huber_loss(taken, y, reduction="none", delta=self.cfg.huber_delta)
                parts["action"] = weighted_mean(per, weights) * self.cfg.action_weight
            else:
                demo = self._demonstration_loss(q, actions, weights)
                if demo is not None:
                    parts["action"] = demo * self.cfg.action_weight
            if not parts:
                raise ValueError(
                    "training batch has no known target candle, no action label and no "
                    "reward: nothing to learn"
                )
            parts["loss"] = torch.stack(list(parts.values())).sum()
            self.optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()  # type: ignore[no-untyped-call]
            nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg.grad_clip)
            self.optimizer.step()
        finally:
            self.net.eval()
        self._step += 1
        self._update_target()
        return {k: float(v.detach()) for k, v in parts.items()}

    def _returns(self, batch: TrainingBatch) -> tuple[np.ndarray, np.ndarray]:
        """Return an experience batch's rewards and discounts; refuse a non-finite one."""
        n = batch.batch_size
        rewards = np.asarray(batch.rewards, np.float64).reshape(-1)
        if batch.next_inputs is None or rewards.shape[0] != n:
            raise ValueError(
                "an experience batch needs one reward per sample and next_inputs: give both"
            )
        if not (np.asarray(batch.actions) >= 0).all():
            raise ValueError("an experience batch needs the action taken in every row")
        raw_d = batch.next_inputs.extras.get("discount")
        default = self.cfg.gamma**self.cfg.n_step
        discount = np.full(n, default) if raw_d is None else np.asarray(raw_d, np.float64)
        discount = discount.reshape(-1)
        bad = ~np.isfinite(rewards) | ~np.isfinite(discount)
        if bad.any():
            raise ValueError(
                f"{int(bad.sum())} of {n} experiences have a non-finite reward or discount: "
                "step discarded, the last good weights kept"
            )
        return rewards, discount

    def _td_target(
        self, next_feats: Tensor, nxt: ModelInputs, reward: np.ndarray, discount: np.ndarray
    ) -> Tensor:
        """Return the Double DQN targets: the online net picks, the target net values."""
        pos = self._positions(nxt)
        with torch.no_grad():
            best = self.net.q_values(self.net.trunk(next_feats), pos).argmax(dim=1)
            q_next = self.target.q_values(self.target.trunk(next_feats), pos)
            value = q_next.gather(1, best[:, None])[:, 0]
            out: Tensor = _float_tensor(reward) + _float_tensor(discount) * value
        return out

    def _demonstration_loss(
        self, q: Tensor, actions: Tensor, weights: Tensor | None
    ) -> Tensor | None:
        labelled = actions >= 0
        if not bool(labelled.any()):
            return None
        ql, al = q[labelled], actions[labelled]
        margin = self.cfg.demo_margin * (1.0 - functional.one_hot(al, 3).to(q.dtype))
        per = (ql + margin).max(dim=1).values - ql.gather(1, al[:, None])[:, 0]
        return weighted_mean(per, None if weights is None else weights[labelled])

    def _update_target(self) -> None:
        with torch.no_grad():
            if self.cfg.tau > 0:
                for t, s in zip(self.target.parameters(), self.net.parameters(), strict=True):
                    t.mul_(1.0 - self.cfg.tau).add_(s, alpha=self.cfg.tau)
            elif self._step % self.cfg.target_sync == 0:
                self.target.load_state_dict(self.net.state_dict())

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Return family, config, step, online and target weights and optimiser state."""
        return {
            "format": STATE_FORMAT,
            "family": self.family,
            "config": self.config(),
            "step": self._step,
            "weights": {k: v.detach().clone() for k, v in self.net.state_dict().items()},
            "target": {k: v.detach().clone() for k, v in self.target.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state of the same family and config; refuse any other with a clear error."""
        self._check_state(state)
        self.net.load_state_dict(state["weights"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        self._step = int(state["step"])

    def clone(self) -> Model:
        """Return an independent deep copy (both networks, optimiser, step)."""
        return copy.deepcopy(self)


def make_dqn(raw: Mapping[str, Any]) -> DqnModel:
    """Build a DQN from keyword settings (one line naming a setting that is out of range)."""
    cfg = parse_config(DqnConfig, "dqn", raw)
    positive(
        "dqn",
        hidden=cfg.hidden,
        recent=cfg.recent,
        halflife=cfg.halflife,
        learning_rate=cfg.learning_rate,
        n_step=cfg.n_step,
        target_sync=cfg.target_sync,
        huber_delta=cfg.huber_delta,
        temperature=cfg.temperature,
        horizon=cfg.horizon,
        reward_scale=cfg.reward_scale,
    )
    checks = {
        "gamma": 0.0 <= cfg.gamma <= 1.0,
        "tau": 0.0 <= cfg.tau <= 1.0,
        "explore_epsilon": 0.0 <= cfg.explore_epsilon <= 1.0,
        "demo_margin": cfg.demo_margin >= 0.0,
        "layers": cfg.layers >= 0,
        "fee_bps": cfg.fee_bps >= 0 and cfg.slippage_bps >= 0,
    }
    for name, ok in checks.items():
        if not ok:
            raise UserInputError(
                f"dqn setting {name} is out of range: gamma, tau and explore_epsilon in [0, 1], "
                "demo_margin, layers and fees >= 0"
            )
    if cfg.hold not in HOLDS:
        raise UserInputError(f"dqn hold {cfg.hold!r}: use flat (HOLD closes) or keep")
    return DqnModel(cfg)

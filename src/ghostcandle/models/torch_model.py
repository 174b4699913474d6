"""Mechanics shared by the learning families: seeded init, predict, one Adam step, state."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from ghostcandle.models import traced
from ghostcandle.models.base import Model, ModelInputs, ModelOutputs, TrainingBatch
from ghostcandle.models.config import ModelConfig
from ghostcandle.models.device import current_device
from ghostcandle.models.family import ConfiguredModel
from ghostcandle.models.losses import candle_from_raw, supervised_losses
from ghostcandle.models.module_copy import copy_module

STATE_FORMAT = 1


@dataclass(frozen=True, kw_only=True)
class LearningConfig(ModelConfig):
    """Optimiser settings shared by the learning families."""

    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    action_weight: float = 1.0


class Net(nn.Module, ABC):
    """A network mapping normalised windows to raw candle heads per timeframe and action logits."""

    @abstractmethod
    def forward(self, windows: dict[str, Tensor]) -> tuple[dict[str, Tensor], Tensor]:
        """Return raw ``(B, 5)`` head outputs per timeframe and ``(B, 3)`` action logits."""


class LearningModel(ConfiguredModel):
    """A family that learns: counts its steps and names its version by them."""

    _step: int
    cfg: LearningConfig

    @property
    def learns(self) -> bool:
        """Tell that this family learns."""
        return True

    @property
    def step(self) -> int:
        """Return how many training steps have been applied."""
        return self._step

    @property
    def version(self) -> str:
        """Return family, config digest and step."""
        return f"{self.family}-{self.cfg.digest()}-{self._step}"


class TorchModel(LearningModel):
    """A ``Model`` around a ``Net``: subclasses set ``family`` and build the net in ``_build``."""

    family = "torch"
    cfg: LearningConfig

    def __init__(self, cfg: LearningConfig) -> None:
        super().__init__(cfg)
        # seed the init without touching the process-wide generator others rely on
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.net = self._build()
        #: where the net runs (``models.device``); the weights were initialised on the CPU
        self.device = current_device()
        if self.device.type != "cpu":
            self.net.to(self.device)
        self.net.eval()
        self.optimizer = torch.optim.AdamW(
            self.net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
        self._step = 0

    @abstractmethod
    def _build(self) -> Net:
        """Return the family's network (called with the config's seed in force)."""

    @property
    def step_seed(self) -> int:
        """Return the seed the next training step's random draws (dropout) are made from."""
        return self.cfg.seed * 1_000_003 + self._step

    def _tensors(self, inputs: ModelInputs) -> dict[str, Tensor]:
        return {
            tf: self._on_device(torch.from_numpy(self._input_window(inputs, tf, np.float32)))
            for tf in self._windows
        }

    @property
    def architecture(self) -> tuple[str, str, tuple[tuple[str, int], ...]]:
        """Return what fixes the net's function of its weights: family, config, windows."""
        return (self.family, self.cfg.digest(), tuple(self._windows.items()))

    def _on_device(self, t: Tensor) -> Tensor:
        """Return ``t`` on the model's device (itself on the CPU)."""
        return t if self.device.type == "cpu" else t.to(self.device, non_blocking=True)

    def predict(self, inputs: ModelInputs) -> ModelOutputs:
        """Predict a batch without gradients and without changing the model."""
        return self.predict_only(inputs, None)

    def predict_only(self, inputs: ModelInputs, timeframes: Sequence[str] | None) -> ModelOutputs:
        """Predict a batch, turning only ``timeframes``' heads into candles (None: every one).

        The net computes every head from the same inputs, so each candle is the one
        ``predict`` gives; the loop asks only for the timeframe whose candle closed.
        """
        with torch.inference_mode():
            raw, logits = traced.forward(self.net, self.architecture, self._tensors(inputs))
            probs = torch.softmax(logits, dim=1)
            heads = raw if timeframes is None else {tf: raw[tf] for tf in timeframes}
            candles = {tf: candle_from_raw(r).double().cpu().numpy() for tf, r in heads.items()}
        return ModelOutputs(candles=candles, action_probs=probs.double().cpu().numpy())

    def _losses(
        self,
        inputs: dict[str, Tensor],
        targets: dict[str, Tensor],
        actions: Tensor,
        weights: Tensor | None,
    ) -> dict[str, Tensor]:
        """Return the loss parts of a labelled batch (``"loss"``: their sum), with gradients."""
        raw, logits = self.net(inputs)
        candles = {tf: candle_from_raw(r) for tf, r in raw.items()}
        return supervised_losses(candles, logits, targets, actions, weights, self.cfg.action_weight)

    def train_step(self, batch: TrainingBatch) -> dict[str, float]:
        """Apply one AdamW step (gradients clipped) and return the loss components."""
        inputs = self._tensors(batch.inputs)
        targets = {
            tf: self._on_device(torch.from_numpy(np.asarray(t, np.float32)))
            for tf, t in batch.targets.items()
        }
        actions = self._on_device(torch.from_numpy(np.asarray(batch.actions, np.int64)))
        weights = (
            None
            if batch.weights is None
            else self._on_device(torch.from_numpy(batch.weights.astype(np.float32)))
        )
        self.net.train()
        try:
            # dropout (if configured) draws from a generator seeded by (seed, step): reproducible
            cuda = [self.device.index or 0] if self.device.type == "cuda" else []
            with torch.random.fork_rng(devices=cuda):
                # this device's generator only: ``torch.manual_seed`` also queues a seed for
                # every accelerator backend, formatting a stack trace each time (a third of a
                # step on the CPU)
                torch.default_generator.manual_seed(self.step_seed)
                if cuda:
                    torch.cuda.manual_seed(self.step_seed)
                parts = self._losses(inputs, targets, actions, weights)
                self.optimizer.zero_grad(set_to_none=True)
                parts["loss"].backward()  # type: ignore[no-untyped-call]
                nn.utils.clip_grad_norm_(self.net.parameters(), self.cfg.grad_clip)
                self.optimizer.step()
        finally:
            self.net.eval()
        self._step += 1
        return {k: float(v.detach()) for k, v in parts.items()}

    def state_dict(self) -> dict[str, Any]:
        """Return an independent copy of family, config, step, weights and optimiser state."""
        return {
            "format": STATE_FORMAT,
            "family": self.family,
            "config": self.config(),
            "step": self._step,
            "weights": {k: _on_cpu(v) for k, v in self.net.state_dict().items()},
            "optimizer": _on_cpu(self.optimizer.state_dict()),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state of the same family and config; refuse any other with a clear error."""
        self._check_state(state)
        self.net.load_state_dict(state["weights"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        self._step = int(state["step"])

    def clone(self) -> Model:
        """Return an independent deep copy (net, optimiser and step).

        The net is copied module by module (``models.module_copy``) and the optimiser rebuilt
        over the copy's parameters from its state (what ``copy.deepcopy`` does, without walking
        its hooks and groups generically): the trainer clones after every step, and the generic
        copies cost as much as a step, holding the interpreter a live tick needs.
        """
        new = copy.copy(self)
        for key, value in self.__dict__.items():
            if key not in ("net", "optimizer"):
                new.__dict__[key] = copy.deepcopy(value)
        new.net = copy_module(self.net)  # module by module: a third of a deep copy's time
        new.optimizer = copy_optimizer(self.optimizer, self.net, new.net)
        return new


def _on_cpu(obj: Any) -> Any:
    """Return an independent copy of ``obj`` with every tensor in it on the CPU."""
    if isinstance(obj, Tensor):
        return obj.detach().clone() if obj.device.type == "cpu" else obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _on_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_on_cpu(v) for v in obj)
    return copy.deepcopy(obj)


OptimizerT = TypeVar("OptimizerT", bound=torch.optim.Optimizer)


def copy_optimizer(opt: OptimizerT, old: nn.Module, new: nn.Module) -> OptimizerT:
    """Return a copy of ``opt`` (of ``old``'s parameters) stepping ``new``'s, state cloned.

    ``new`` is a deep copy of ``old`` (same parameters, same order). The copy is built as
    ``copy.deepcopy`` builds it, through the optimiser's own ``__setstate__``.
    """
    to_new = {id(p): q for p, q in zip(old.parameters(), new.parameters(), strict=True)}
    groups = [
        {**copy.deepcopy({k: v for k, v in g.items() if k != "params"}),
         "params": [to_new[id(p)] for p in g["params"]]}
        for g in opt.param_groups
    ]  # fmt: skip
    state: dict[Any, Any] = defaultdict(dict)
    for p, s in opt.state.items():
        state[to_new[id(p)]] = {
            k: v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v) for k, v in s.items()
        }
    out = type(opt).__new__(type(opt))
    out.__setstate__(
        {"defaults": copy.deepcopy(opt.defaults), "state": state, "param_groups": groups}
    )
    return out

"""Mechanics shared by the learning families: seeded init, predict, one Adam step, state."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ghostcandle.models.base import Model, ModelInputs, ModelOutputs, TrainingBatch
from ghostcandle.models.config import ModelConfig
from ghostcandle.models.losses import candle_from_raw, supervised_losses

STATE_FORMAT = 1


@dataclass(frozen=True, kw_only=True)
class LearningConfig(ModelConfig):
    """Optimiser settings shared by the learning families."""

    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    action_weight: float = 1.0


class Net(nn.Module):
    """A network mapping normalised windows to raw candle heads per timeframe and action logits."""

    def forward(self, windows: dict[str, Tensor]) -> tuple[dict[str, Tensor], Tensor]:
        """Return raw ``(B, 5)`` head outputs per timeframe and ``(B, 3)`` action logits."""
        raise NotImplementedError


class TorchModel:
    """A ``Model`` around a ``Net``: subclasses set ``family`` and build the net in ``_build``."""

    family = "torch"

    def __init__(self, cfg: LearningConfig) -> None:
        self.cfg = cfg
        self._windows = cfg.window_lengths()
        # seed the init without touching the process-wide generator others rely on
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.net = self._build()
        self.net.eval()
        self.optimizer = torch.optim.AdamW(
            self.net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
        self._step = 0

    def _build(self) -> Net:
        raise NotImplementedError

    @property
    def name(self) -> str:
        """Return the family name."""
        return self.family

    @property
    def timeframes(self) -> tuple[str, ...]:
        """Return the timeframes read and predicted."""
        return self.cfg.timeframes

    @property
    def windows(self) -> Mapping[str, int]:
        """Return the window length per timeframe."""
        return dict(self._windows)

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

    def config(self) -> dict[str, Any]:
        """Return the config as plain values."""
        return self.cfg.to_json()

    def parameter_count(self) -> int:
        """Return the number of trainable parameters."""
        return sum(p.numel() for p in self.net.parameters())

    def _tensors(self, inputs: ModelInputs) -> dict[str, Tensor]:
        out = {}
        for tf, n in self._windows.items():
            w = inputs.windows.get(tf)
            if w is None:
                raise ValueError(f"inputs lack a {tf} window: give one window per model timeframe")
            if w.ndim != 3 or w.shape[2] != 5 or w.shape[1] < n:
                raise ValueError(f"{tf} inputs have shape {w.shape}: give (batch, >= {n}, 5)")
            out[tf] = torch.from_numpy(np.ascontiguousarray(w[:, -n:], dtype=np.float32))
        return out

    def predict(self, inputs: ModelInputs) -> ModelOutputs:
        """Predict a batch without gradients and without changing the model."""
        with torch.inference_mode():
            raw, logits = self.net(self._tensors(inputs))
            probs = torch.softmax(logits, dim=1)
            candles = {tf: candle_from_raw(r).double().numpy() for tf, r in raw.items()}
        return ModelOutputs(candles=candles, action_probs=probs.double().numpy())

    def train_step(self, batch: TrainingBatch) -> dict[str, float]:
        """Apply one AdamW step (gradients clipped) and return the loss components."""
        inputs = self._tensors(batch.inputs)
        targets = {
            tf: torch.from_numpy(np.asarray(t, np.float32)) for tf, t in batch.targets.items()
        }
        actions = torch.from_numpy(np.asarray(batch.actions, np.int64))
        weights = (
            None if batch.weights is None else torch.from_numpy(batch.weights.astype(np.float32))
        )
        self.net.train()
        try:
            # dropout (if configured) draws from a generator seeded by (seed, step): reproducible
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.cfg.seed * 1_000_003 + self._step)
                raw, logits = self.net(inputs)
                candles = {tf: candle_from_raw(r) for tf, r in raw.items()}
                parts = supervised_losses(
                    candles, logits, targets, actions, weights, self.cfg.action_weight
                )
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
            "weights": {k: v.detach().clone() for k, v in self.net.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state of the same family and config; refuse any other with a clear error."""
        if state.get("family") != self.family or state.get("config") != self.config():
            raise ValueError(
                f"state of {state.get('family')!r} does not fit this {self.family} model: "
                "create the model with the config stored in the state"
            )
        self.net.load_state_dict(state["weights"])
        self.optimizer.load_state_dict(copy.deepcopy(state["optimizer"]))
        self._step = int(state["step"])

    def clone(self) -> Model:
        """Return an independent deep copy (net, optimiser and step)."""
        return copy.deepcopy(self)

"""The 1-D convolutional family: a small strided conv stack per timeframe, shared heads.

Each timeframe's window goes through its own stack (one conv, then ``layers`` strided convs);
its features are the mean over time and the last position. The features of all timeframes are
mixed by one hidden layer that feeds a next-candle head per timeframe and the action head.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ghostcandle.domain.errors import UserInputError
from ghostcandle.models.config import parse_config, positive
from ghostcandle.models.torch_model import LearningConfig, Net, TorchModel


@dataclass(frozen=True, kw_only=True)
class CnnConfig(LearningConfig):
    """CNN settings; the defaults keep CPU inference within a few milliseconds."""

    channels: int = 24
    kernel: int = 5
    layers: int = 3
    hidden: int = 64


def _stack(cfg: CnnConfig) -> nn.Sequential:
    c, k = cfg.channels, cfg.kernel
    mods: list[nn.Module] = [nn.Conv1d(5, c, k, padding=k // 2), nn.GELU()]
    for _ in range(cfg.layers):
        mods += [nn.Conv1d(c, c, k, stride=2, padding=k // 2), nn.GELU()]
    return nn.Sequential(*mods)


class CnnNet(Net):
    """Conv stacks per timeframe, a mixing layer, heads per timeframe and for the action."""

    def __init__(self, cfg: CnnConfig, windows: Mapping[str, int]) -> None:
        super().__init__()
        self.order = list(windows)
        self.stacks = nn.ModuleDict({tf: _stack(cfg) for tf in self.order})
        self.mix = nn.Sequential(
            nn.Linear(2 * cfg.channels * len(self.order), cfg.hidden), nn.GELU()
        )
        self.candle_heads = nn.ModuleDict({tf: nn.Linear(cfg.hidden, 5) for tf in self.order})
        self.action_head = nn.Linear(cfg.hidden, 3)

    def forward(self, windows: dict[str, Tensor]) -> tuple[dict[str, Tensor], Tensor]:
        """Return raw candle heads per timeframe and action logits."""
        feats = []
        for tf in self.order:
            h = self.stacks[tf](windows[tf].transpose(1, 2))
            feats += [h.mean(dim=2), h[:, :, -1]]
        z = self.mix(torch.cat(feats, dim=1))
        return {tf: self.candle_heads[tf](z) for tf in self.order}, self.action_head(z)


class CnnModel(TorchModel):
    """The ``cnn`` family."""

    family = "cnn"
    cfg: CnnConfig

    def _build(self) -> Net:
        return CnnNet(self.cfg, self._windows)


def make_cnn(raw: Mapping[str, Any]) -> CnnModel:
    """Build a CNN from keyword settings."""
    cfg = parse_config(CnnConfig, "cnn", raw)
    positive(
        "cnn",
        channels=cfg.channels,
        kernel=cfg.kernel,
        layers=cfg.layers,
        hidden=cfg.hidden,
        learning_rate=cfg.learning_rate,
    )
    if cfg.layers > 12:
        raise UserInputError(f"cnn layers={cfg.layers} is too deep: use at most 12")
    return CnnModel(cfg)

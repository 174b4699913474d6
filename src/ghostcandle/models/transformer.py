"""The multi-timeframe transformer: patch tokens of every timeframe, one encoder, shared heads.

Each timeframe's normalised window is cut into patches of ``patch`` candles (left-padded with
zeros, i.e. the last close, to a whole number of patches); a patch becomes one token with a
learned position and timeframe embedding. All tokens plus a summary token go through one
pre-norm encoder. The next-candle head of a timeframe reads the summary token and that
timeframe's last token; the action head reads the summary token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional

from ghostcandle.domain.errors import UserInputError
from ghostcandle.models.config import parse_config, positive
from ghostcandle.models.torch_model import LearningConfig, Net, TorchModel


@dataclass(frozen=True, kw_only=True)
class TransformerConfig(LearningConfig):
    """Transformer settings; the defaults keep CPU inference within a few milliseconds."""

    d_model: int = 32
    heads: int = 4
    layers: int = 2
    patch: int = 10
    dropout: float = 0.0


class TransformerNet(Net):
    """Patch embedding per timeframe, one encoder, heads per timeframe and for the action."""

    def __init__(self, cfg: TransformerConfig, windows: Mapping[str, int]) -> None:
        super().__init__()
        d, p = cfg.d_model, cfg.patch
        self.patch = p
        self.order = list(windows)
        self.tokens = {tf: math.ceil(n / p) for tf, n in windows.items()}
        self.embed = nn.ModuleDict({tf: nn.Linear(5 * p, d) for tf in self.order})
        self.pos = nn.ParameterDict(
            {tf: nn.Parameter(torch.randn(self.tokens[tf], d) * 0.02) for tf in self.order}
        )
        self.tf_emb = nn.Parameter(torch.randn(len(self.order), d) * 0.02)
        self.summary = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        layer = nn.TransformerEncoderLayer(
            d,
            cfg.heads,
            dim_feedforward=2 * d,
            dropout=cfg.dropout,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.candle_heads = nn.ModuleDict({tf: nn.Linear(2 * d, 5) for tf in self.order})
        self.action_head = nn.Linear(d, 3)

    def forward(self, windows: dict[str, Tensor]) -> tuple[dict[str, Tensor], Tensor]:
        """Return raw candle heads per timeframe and action logits."""
        batch = next(iter(windows.values())).shape[0]
        parts = [self.summary.expand(batch, 1, -1)]
        for i, tf in enumerate(self.order):
            x = windows[tf]
            pad = self.tokens[tf] * self.patch - x.shape[1]
            if pad:
                x = functional.pad(x, (0, 0, pad, 0))
            x = x.reshape(batch, self.tokens[tf], self.patch * 5)
            parts.append(self.embed[tf](x) + self.pos[tf] + self.tf_emb[i])
        h = self.norm(self.encoder(torch.cat(parts, dim=1)))
        summary = h[:, 0]
        raw: dict[str, Tensor] = {}
        end = 1
        for tf in self.order:
            end += self.tokens[tf]
            raw[tf] = self.candle_heads[tf](torch.cat([summary, h[:, end - 1]], dim=1))
        return raw, self.action_head(summary)


class TransformerModel(TorchModel):
    """The ``transformer`` family."""

    family = "transformer"
    cfg: TransformerConfig

    def _build(self) -> Net:
        return TransformerNet(self.cfg, self._windows)


def make_transformer(raw: Mapping[str, Any]) -> TransformerModel:
    """Build a transformer from keyword settings."""
    cfg = parse_config(TransformerConfig, "transformer", raw)
    positive(
        "transformer",
        d_model=cfg.d_model,
        heads=cfg.heads,
        layers=cfg.layers,
        patch=cfg.patch,
        learning_rate=cfg.learning_rate,
    )
    if cfg.d_model % cfg.heads:
        raise UserInputError(
            f"transformer d_model={cfg.d_model} is not divisible by heads={cfg.heads}: "
            "pick heads that divide d_model"
        )
    return TransformerModel(cfg)

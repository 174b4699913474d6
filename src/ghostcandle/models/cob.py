"""The ``cob`` family: a small DeepLOB-style network on per-second order-book snapshots.

Input: the last ``snapshots`` per-second top-``levels`` books (the depth extra,
``models/depth_input.py``) plus the recent candles of every timeframe. Per snapshot and level
five channels, all scale-free: bid and ask offsets from the decision-time mid in units of the
window's mean absolute offset (so the mid's moves over the window show as shifts), bid and ask
sizes as ``log1p(size / mean size of the window)``, and the level's imbalance
``(bid - ask) / (bid + ask)``. Like DeepLOB: convolutions across levels (neighbouring levels,
then all levels into one vector per snapshot), then a temporal block (a causal convolution and
a GRU over the snapshots). The last ``recent`` normalised candles of each timeframe are mixed in
by one linear layer. Heads: the next candle per timeframe (valid by construction) and
HOLD/BUY/SELL logits, trained by the shared supervised losses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ghostcandle.domain.errors import UserInputError
from ghostcandle.models.base import ModelInputs
from ghostcandle.models.config import parse_config, positive
from ghostcandle.models.depth_input import DEPTH, depth_input
from ghostcandle.models.torch_model import LearningConfig, Net, TorchModel

CHANNELS_IN = 5


@dataclass(frozen=True, kw_only=True)
class CobConfig(LearningConfig):
    """Settings; the defaults predict one sample in about a millisecond on a CPU."""

    timeframes: tuple[str, ...] = ("1s", "1m")
    windows: Mapping[str, int] = field(default_factory=lambda: {"1s": 60, "1m": 30})
    #: per-second book snapshots read, ending at the decision time
    snapshots: int = 10
    levels: int = 20
    channels: int = 16
    hidden: int = 64
    #: candles at the end of each window the network sees
    recent: int = 16


def book_channels(depth: Tensor) -> Tensor:
    """Turn the depth extra ``(B, N, L, 4)`` into scale-free channels ``(B, 5, N, L)``."""
    bid_off, bid_q, ask_off, ask_q = depth.unbind(dim=3)
    scale = (bid_off.abs() + ask_off.abs()).mean(dim=(1, 2), keepdim=True) / 2 + 1e-9
    size = (bid_q + ask_q).mean(dim=(1, 2), keepdim=True) / 2 + 1e-12
    imb = (bid_q - ask_q) / (bid_q + ask_q).clamp_min(1e-12)
    return torch.stack(
        [
            bid_off / scale,
            ask_off / scale,
            torch.log1p(bid_q / size),
            torch.log1p(ask_q / size),
            imb,
        ],
        dim=1,
    )


class CobNet(Net):
    """Level convolutions, a temporal block, a candle mixer and the heads."""

    def __init__(self, cfg: CobConfig, windows: Mapping[str, int]) -> None:
        super().__init__()
        c = cfg.channels
        self.order = list(windows)
        self.recent = {tf: min(cfg.recent, n) for tf, n in windows.items()}
        self.levels = nn.Sequential(
            nn.Conv2d(CHANNELS_IN, c, (1, 2), stride=(1, 2)),  # bid/ask pairs of neighbours
            nn.GELU(),
            nn.Conv2d(c, c, (1, 3), padding=(0, 1)),
            nn.GELU(),
            nn.Conv2d(c, c, (1, cfg.levels // 2)),  # every level into one vector per snapshot
            nn.GELU(),
        )
        self.temporal_conv = nn.Conv1d(c, c, 3, padding=2)  # sliced below: causal
        self.gru = nn.GRU(c, c, batch_first=True)
        width = sum(self.recent.values()) * 5
        self.candles = nn.Sequential(nn.Linear(width, cfg.hidden), nn.GELU())
        self.mix = nn.Sequential(nn.Linear(c + cfg.hidden, cfg.hidden), nn.GELU())
        self.candle_heads = nn.ModuleDict({tf: nn.Linear(cfg.hidden, 5) for tf in self.order})
        self.action_head = nn.Linear(cfg.hidden, 3)

    def forward(self, windows: dict[str, Tensor]) -> tuple[dict[str, Tensor], Tensor]:
        """Return raw candle heads per timeframe and action logits."""
        x = self.levels(book_channels(windows[DEPTH])).squeeze(3)  # (B, C, N)
        n = x.shape[2]
        x = x + nn.functional.gelu(self.temporal_conv(x)[:, :, :n])
        _, h = self.gru(x.transpose(1, 2))
        flat = [windows[tf][:, -self.recent[tf] :].flatten(1) for tf in self.order]
        z = self.mix(torch.cat([h[-1], self.candles(torch.cat(flat, dim=1))], dim=1))
        return {tf: self.candle_heads[tf](z) for tf in self.order}, self.action_head(z)


class CobModel(TorchModel):
    """The ``cob`` family."""

    family = "cob"
    cfg: CobConfig

    @property
    def depth_window(self) -> int:
        """Return the number of per-second book snapshots read."""
        return self.cfg.snapshots

    def _build(self) -> Net:
        return CobNet(self.cfg, self._windows)

    def _tensors(self, inputs: ModelInputs) -> dict[str, Tensor]:
        out = super()._tensors(inputs)
        depth = depth_input(inputs, self.cfg.snapshots, self.cfg.levels, self.family)
        out[DEPTH] = self._on_device(torch.from_numpy(depth))
        return out


def make_cob(raw: Mapping[str, Any]) -> CobModel:
    """Build a COB model from keyword settings."""
    cfg = parse_config(CobConfig, "cob", raw)
    positive(
        "cob",
        snapshots=cfg.snapshots,
        channels=cfg.channels,
        hidden=cfg.hidden,
        recent=cfg.recent,
        learning_rate=cfg.learning_rate,
    )
    if cfg.levels < 4 or cfg.levels % 2:
        raise UserInputError(f"cob levels={cfg.levels}: give an even number of levels, 4..20")
    if cfg.levels > 20:
        raise UserInputError(f"cob levels={cfg.levels}: the depth table keeps 20, use at most 20")
    return CobModel(cfg)

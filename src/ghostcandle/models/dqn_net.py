"""The DQN's network: window features, a shared trunk, next-candle heads and a dueling Q head.

Every timeframe's window becomes its scale-free features (``models/features.py``); one MLP trunk
mixes them. Two kinds of head read the trunk:

- **next-candle heads** (auxiliary), one per timeframe, in volatility units
  (``models/excursion_heads.Scales``): they fill the ledger like every model's forecast, and
  training them shapes the trunk the Q head reads;
- a **dueling Q head**: the trunk's output with the held position appended as a one-hot
  (flat, long, short) feeds a value stream ``V(s, p)`` and an advantage stream ``A(s, p, a)``;
  ``Q = V + A - mean_a A`` (the mean keeps the two identifiable).

The position enters only the Q head: it changes what an action costs, not what the market does
next, so the candle forecasts do not depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn
from torch.nn import functional

from ghostcandle.models.excursion_heads import Scales
from ghostcandle.models.features import feature_size, features_and_scales

#: Raw candle head outputs per timeframe: return, up and down excursion, log volume ratio.
CANDLE_HEADS = 4


def _mlp(width: int, hidden: int, layers: int) -> tuple[nn.Sequential, int]:
    mods: list[nn.Module] = []
    for i in range(layers):
        mods += [nn.Linear(width if i == 0 else hidden, hidden), nn.GELU()]
    return nn.Sequential(*mods), (hidden if layers else width)


class DqnNet(nn.Module):
    """Features -> trunk -> candle heads per timeframe, and a dueling Q head given the position."""

    def __init__(
        self, windows: Mapping[str, int], *, hidden: int, layers: int, recent: int, halflife: float
    ) -> None:
        super().__init__()
        self.order = list(windows)
        self.recent = recent
        self.halflife = halflife
        width = sum(feature_size(recent, n) for n in windows.values())
        self.trunk, out = _mlp(width, hidden, layers)
        self.candle_heads = nn.ModuleDict({tf: nn.Linear(out, CANDLE_HEADS) for tf in self.order})
        half = max(8, hidden // 2)
        self.value = nn.Sequential(nn.Linear(out + 3, half), nn.GELU(), nn.Linear(half, 1))
        self.advantage = nn.Sequential(nn.Linear(out + 3, half), nn.GELU(), nn.Linear(half, 3))

    def features(self, windows: dict[str, Tensor]) -> tuple[Tensor, dict[str, Scales]]:
        """Return the windows' features ``(B, width)`` and each timeframe's scales (no weights).

        Features have no parameters, so a state's are computed once and read by the online and
        the target network alike.
        """
        feats, scales = [], {}
        for tf in self.order:
            w = windows[tf]
            f, sigma, level = features_and_scales(w, self.recent, self.halflife)
            feats.append(f)
            scales[tf] = Scales(w[:, -1, 3], sigma, level)
        return torch.cat(feats, dim=1), scales

    def encode(self, windows: dict[str, Tensor]) -> tuple[Tensor, dict[str, Scales]]:
        """Return the trunk's output ``(B, hidden)`` and each timeframe's scales."""
        f, scales = self.features(windows)
        return self.trunk(f), scales

    def q_values(self, h: Tensor, position_index: Tensor) -> Tensor:
        """Return ``(B, 3)`` Q-values (HOLD, BUY, SELL) of trunk outputs and held positions."""
        return self.q_of_held(h, held_one_hot(position_index, h.dtype))

    def q_of_held(self, h: Tensor, held: Tensor) -> Tensor:
        """Return ``(B, 3)`` Q-values of trunk outputs and held positions given one-hot."""
        x = torch.cat([h, held], dim=1)
        adv = self.advantage(x)
        out: Tensor = self.value(x) + adv - adv.mean(dim=1, keepdim=True)
        return out

    def candles(self, h: Tensor) -> dict[str, Tensor]:
        """Return the raw candle heads ``(B, 4)`` per timeframe of trunk outputs."""
        return {tf: self.candle_heads[tf](h) for tf in self.order}

    def forward(
        self, windows: dict[str, Tensor], position_index: Tensor
    ) -> tuple[dict[str, Tensor], dict[str, Scales], Tensor]:
        """Return raw candle heads ``(B, 4)`` and scales per timeframe, and Q-values ``(B, 3)``."""
        h, scales = self.encode(windows)
        return self.candles(h), scales, self.q_values(h, position_index)


def held_one_hot(position_index: Tensor, dtype: torch.dtype) -> Tensor:
    """Return held positions (indices 0 flat, 1 long, 2 short) one-hot ``(B, 3)`` in ``dtype``."""
    return functional.one_hot(position_index, 3).to(dtype)


class DqnActing(nn.Module):
    """The online net as it acts: next candles per timeframe and Q-values, in one forward.

    Its weights are the wrapped net's (the same tensors), and it has the shape
    ``models.traced`` runs: windows (and the held position, one-hot) in, ``(candles, q)`` out.
    """

    def __init__(self, net: DqnNet) -> None:
        super().__init__()
        self.net = net
        self.eval()

    def forward(self, windows: dict[str, Tensor], held: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """Return the normalised next candle ``(B, 5)`` per timeframe and Q-values ``(B, 3)``."""
        h, scales = self.net.encode(windows)
        raw = self.net.candles(h)
        return {tf: scales[tf].candle(r) for tf, r in raw.items()}, self.net.q_of_held(h, held)

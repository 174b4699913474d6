"""The ``excursion_mlp`` family: scale-free window features, an MLP, volatility-relative heads.

Every timeframe's window becomes its features (``models/features.py``: returns, excursions, log
ranges, relative volume, in units of the window's own volatility); the features of all
timeframes (the coarser ones are the finer one's context) are concatenated and mixed by a small
MLP. Per timeframe, four heads forecast the next candle's return, up and down excursions and log
volume ratio relative to that window's volatility and volume level (``models/excursion_heads.py``,
pinball loss at the median); one head gives HOLD/BUY/SELL logits trained on the cost-aware
labels, and a trade below ``min_confidence`` abstains to HOLD (flat).

What the inputs cannot carry: the candles' open times (so no time-of-day or day-of-week
encoding) and absolute prices (so returns are measured in volatility units, not in percent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ghostcandle.domain.errors import UserInputError
from ghostcandle.models import traced
from ghostcandle.models.base import ModelInputs, ModelOutputs
from ghostcandle.models.config import parse_config, positive
from ghostcandle.models.excursion_heads import Scales, abstain, excursion_losses
from ghostcandle.models.features import feature_size, features_and_scales
from ghostcandle.models.torch_model import LearningConfig, Net, TorchModel

#: Raw head outputs per timeframe: return, up excursion, down excursion, log volume ratio.
HEADS = 4


@dataclass(frozen=True, kw_only=True)
class ExcursionConfig(LearningConfig):
    """Settings; the defaults predict a tick in well under a millisecond on a CPU."""

    hidden: int = 64
    layers: int = 2
    #: candles at the end of each window described one by one (the rest only in summary)
    recent: int = 16
    #: half-life, in candles, of the volatility every price feature and head is measured in
    halflife: float = 16.0
    dropout: float = 0.0
    #: a BUY or SELL less probable than this becomes HOLD (flat)
    min_confidence: float = 0.5


class ExcursionNet(Net):
    """Features per timeframe, one MLP trunk, four candle heads per timeframe, an action head."""

    def __init__(self, cfg: ExcursionConfig, windows: Mapping[str, int]) -> None:
        super().__init__()
        self.order = list(windows)
        self.recent = cfg.recent
        self.halflife = cfg.halflife
        width = sum(feature_size(cfg.recent, n) for n in windows.values())
        mods: list[nn.Module] = []
        for i in range(cfg.layers):
            mods += [nn.Linear(width if i == 0 else cfg.hidden, cfg.hidden), nn.GELU()]
            if cfg.dropout > 0:
                mods.append(nn.Dropout(cfg.dropout))
        self.trunk = nn.Sequential(*mods)
        out = cfg.hidden if cfg.layers else width
        self.candle_heads = nn.ModuleDict({tf: nn.Linear(out, HEADS) for tf in self.order})
        self.action_head = nn.Linear(out, 3)

    def heads(
        self, windows: dict[str, Tensor]
    ) -> tuple[dict[str, Tensor], dict[str, Scales], Tensor]:
        """Return raw heads ``(B, 4)`` and scales per timeframe, and action logits ``(B, 3)``."""
        feats, scales = [], {}
        for tf in self.order:
            w = windows[tf]
            f, sigma, level = features_and_scales(w, self.recent, self.halflife)
            feats.append(f)
            scales[tf] = Scales(w[:, -1, 3], sigma, level)
        h = self.trunk(torch.cat(feats, dim=1))
        raw = {tf: self.candle_heads[tf](h) for tf in self.order}
        return raw, scales, self.action_head(h)

    def forward(self, windows: dict[str, Tensor]) -> tuple[dict[str, Tensor], Tensor]:
        """Return the next normalised candle ``(B, 5)`` per timeframe and action logits."""
        raw, scales, logits = self.heads(windows)
        return {tf: scales[tf].candle(r) for tf, r in raw.items()}, logits


class ExcursionModel(TorchModel):
    """The ``excursion_mlp`` family."""

    family = "excursion_mlp"
    cfg: ExcursionConfig
    net: ExcursionNet

    def _build(self) -> Net:
        return ExcursionNet(self.cfg, self._windows)

    def predict_only(self, inputs: ModelInputs, timeframes: Sequence[str] | None) -> ModelOutputs:
        """Predict a batch (abstaining where unsure) without changing the model, returning only
        ``timeframes``' candles (None: every one).

        The net's forward (traced for small batches: ``models.traced``) makes every candle: a
        few operations each, against a round trip through Python per operation eager.
        """
        with torch.inference_mode():
            made, logits = traced.forward(self.net, self.architecture, self._tensors(inputs))
            heads = made if timeframes is None else {tf: made[tf] for tf in timeframes}
            candles = {tf: c.double().cpu().numpy() for tf, c in heads.items()}
            probs = abstain(torch.softmax(logits.double(), dim=1), self.cfg.min_confidence)
        return ModelOutputs(candles=candles, action_probs=probs.cpu().numpy())

    def _losses(
        self,
        inputs: dict[str, Tensor],
        targets: dict[str, Tensor],
        actions: Tensor,
        weights: Tensor | None,
    ) -> dict[str, Tensor]:
        """Return the pinball and action loss parts (``"loss"``: their sum), with gradients."""
        raw, scales, logits = self.net.heads(inputs)
        return excursion_losses(
            raw, scales, logits, targets, actions, weights, self.cfg.action_weight
        )


def make_excursion_mlp(raw: Mapping[str, Any]) -> ExcursionModel:
    """Build an ``excursion_mlp`` from keyword settings."""
    cfg = parse_config(ExcursionConfig, "excursion_mlp", raw)
    positive(
        "excursion_mlp",
        hidden=cfg.hidden,
        recent=cfg.recent,
        halflife=cfg.halflife,
        learning_rate=cfg.learning_rate,
    )
    if cfg.layers < 0 or not 0.0 <= cfg.dropout < 1.0:
        raise UserInputError(
            f"excursion_mlp layers={cfg.layers}, dropout={cfg.dropout}: "
            "give layers >= 0 and dropout in [0, 1)"
        )
    if not 0.0 <= cfg.min_confidence <= 1.0:
        raise UserInputError(
            f"excursion_mlp min_confidence={cfg.min_confidence} is not a probability: "
            "give a value in [0, 1] (0 never abstains)"
        )
    return ExcursionModel(cfg)

"""The ``imbalance`` baseline: a fixed rule on the order book's queue imbalance; never learns.

Imbalance ``I = (bid - ask) / (bid + ask)`` of the quantities on the best ``levels`` levels of
the decision-time book (``levels=1``: the touch, the textbook queue-imbalance rule). The
action is BUY when ``I > threshold``, SELL when ``I < -threshold``, else HOLD, with fixed
probabilities 0.5/0.25/0.25. Each timeframe's next candle opens at the last close and closes
``I`` times the window's mean absolute close-to-close change away from it (wicks and volume:
the window's means), so the forecast leans the way the book leans.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghostcandle.domain.errors import UserInputError
from ghostcandle.models.base import ModelInputs, ModelOutputs
from ghostcandle.models.baselines import FixedModel
from ghostcandle.models.config import ModelConfig, parse_config
from ghostcandle.models.depth_input import depth_input


@dataclass(frozen=True, kw_only=True)
class ImbalanceConfig(ModelConfig):
    """Levels summed per side and the dead band around zero imbalance."""

    levels: int = 1
    threshold: float = 0.0


def book_imbalance(depth: np.ndarray, levels: int) -> np.ndarray:
    """Return ``(bid - ask) / (bid + ask)`` over the first ``levels`` of the last snapshot."""
    last = np.asarray(depth, dtype=np.float64)[:, -1, :levels]
    bid, ask = last[:, :, 1].sum(axis=1), last[:, :, 3].sum(axis=1)
    total = bid + ask
    out: np.ndarray = np.divide(bid - ask, total, out=np.zeros_like(total), where=total > 0)
    return out


class Imbalance(FixedModel):
    """Lean the forecast the way the book leans."""

    family = "imbalance"
    cfg: ImbalanceConfig
    #: per-second book snapshots read (the decision-time one)
    depth_window = 1

    def predict(self, inputs: ModelInputs) -> ModelOutputs:
        """Forecast every timeframe's next candle from the windows and the book's imbalance."""
        imb = book_imbalance(depth_input(inputs, 1, self.cfg.levels, self.family), self.cfg.levels)
        candles = {}
        for tf in self.timeframes:
            w = self._input_window(inputs, tf, np.float64)
            candles[tf] = _leaning_candle(w, imb)
        signal = np.where(np.abs(imb) > self.cfg.threshold, imb, 0.0)
        return ModelOutputs(candles=candles, action_probs=self._probs(signal))


def _leaning_candle(w: np.ndarray, imb: np.ndarray) -> np.ndarray:
    last = w[:, -1, 3]
    step = np.mean(np.abs(np.diff(w[:, :, 3], axis=1)), axis=1) if w.shape[1] > 1 else 0.0
    close = last + imb * step
    top, bottom = np.maximum(w[:, :, 0], w[:, :, 3]), np.minimum(w[:, :, 0], w[:, :, 3])
    out = np.empty((w.shape[0], 5))
    out[:, 0], out[:, 3] = last, close
    out[:, 1] = np.maximum(last, close) + np.mean(w[:, :, 1] - top, axis=1)
    out[:, 2] = np.minimum(last, close) - np.mean(bottom - w[:, :, 2], axis=1)
    out[:, 4] = np.mean(w[:, :, 4], axis=1)
    return out


def make_imbalance(raw: Mapping[str, Any]) -> Imbalance:
    """Build the imbalance baseline from keyword settings."""
    cfg = parse_config(ImbalanceConfig, "imbalance", raw)
    if not 1 <= cfg.levels <= 20 or not 0.0 <= cfg.threshold < 1.0:
        raise UserInputError(
            f"imbalance levels={cfg.levels}, threshold={cfg.threshold}: "
            "give levels in 1..20 and threshold in [0, 1)"
        )
    return Imbalance(cfg)

"""Naive forecasters that never learn; every learning model is scored beside them.

- ``persistence``: the next candle is the last candle (probabilities uniform: no opinion).
- ``drift``: a random walk with drift: the close moves by the window's mean close-to-close
  change, the open is the last close, wicks and volume are the window's means.
- ``moving_average``: the close reverts to the mean of the last ``lookback`` closes; open,
  wicks and volume as ``drift``.

The action of ``drift``/``moving_average`` follows the sign of the predicted move of the base
(finest) timeframe with fixed probabilities 0.5/0.25/0.25 (HOLD when flat); ``persistence``
gives 1/3 each (HOLD). They work in normalised space, so their forecasts come back into prices
through the same ``denormalise`` as every other model. The baselines fitted on training data
(``vol_range``, ``majority``) live in their own modules.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ghostcandle.domain.actions import Action
from ghostcandle.models.base import Model, ModelInputs, ModelOutputs, TrainingBatch
from ghostcandle.models.config import ModelConfig, parse_config, positive
from ghostcandle.models.family import ConfiguredModel

STATE_FORMAT = 1


@dataclass(frozen=True, kw_only=True)
class BaselineConfig(ModelConfig):
    """Baseline settings: ``lookback`` is the number of recent candles averaged (0 = window)."""

    lookback: int = 0


class FixedModel(ConfiguredModel):
    """Shared mechanics of the naive forecasters: no weights, no learning, nothing to save.

    A baseline's constants (if any) are part of its config, so a fitted baseline is rebuilt
    from its config like every other model. ``predict`` is the family's own.
    """

    family = "baseline"

    @property
    def learns(self) -> bool:
        """Tell that a baseline never learns."""
        return False

    @property
    def step(self) -> int:
        """Return 0: a baseline is never trained."""
        return 0

    @property
    def version(self) -> str:
        """Return the family and config digest (a baseline has one version)."""
        return f"{self.family}-{self.cfg.digest()}-0"

    @abstractmethod
    def predict(self, inputs: ModelInputs) -> ModelOutputs:
        """Forecast every timeframe's next candle (and an action) by the family's rule."""

    def train_step(self, batch: TrainingBatch) -> dict[str, float]:
        """Learn nothing: a baseline is never changed; return no loss components."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Return the (weightless) state: family, config and step 0."""
        return {"format": STATE_FORMAT, "family": self.family, "config": self.config(), "step": 0}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Check that ``state`` belongs to this family and config (there is nothing to load)."""
        self._check_state(state)

    def clone(self) -> Model:
        """Return an equal baseline (it holds no mutable state)."""
        return type(self)(self.cfg)

    def _probs(self, move: np.ndarray) -> np.ndarray:
        probs = np.full((move.shape[0], 3), 0.25)
        probs[:, int(Action.HOLD)] = 0.5
        up, down = move > 0, move < 0
        probs[up] = 0.25
        probs[up, int(Action.BUY)] = 0.5
        probs[down] = 0.25
        probs[down, int(Action.SELL)] = 0.5
        return probs


class Baseline(FixedModel):
    """A naive forecaster that reads each timeframe's window alone (``_next``)."""

    def predict(self, inputs: ModelInputs) -> ModelOutputs:
        """Forecast every timeframe's next candle with the family's naive rule."""
        return self.predict_only(inputs, self.timeframes)

    def predict_only(self, inputs: ModelInputs, timeframes: Sequence[str]) -> ModelOutputs:
        """Forecast the next candle of ``timeframes`` only (and the action, from the base).

        Each timeframe's forecast reads its own window alone, so it is the one ``predict``
        gives; the loop asks for the timeframe whose candle closed, not all of them.
        """
        base = self.timeframes[0]
        wanted = [base, *(tf for tf in timeframes if tf != base)]
        windows = {tf: self._input_window(inputs, tf, np.float64) for tf in wanted}
        candles = {tf: self._next(w) for tf, w in windows.items()}
        move = candles[base][:, 3] - windows[base][:, -1, 3]
        if base not in timeframes:
            del candles[base]
        return ModelOutputs(candles=candles, action_probs=self._probs(move))

    @abstractmethod
    def _next(self, w: np.ndarray) -> np.ndarray:
        """Return the forecast next candles ``(B, 5)`` for windows ``w`` of shape ``(B, L, 5)``."""


class _Lookback(Baseline):
    """A baseline that averages the last ``lookback`` candles (0: the whole window)."""

    cfg: BaselineConfig

    def _recent(self, w: np.ndarray) -> np.ndarray:
        n = self.cfg.lookback
        return w if n <= 0 else w[:, -n:]


def row_means(x: np.ndarray) -> np.ndarray:
    """Return the mean of each row of ``(B, L)`` floats: ``np.mean(x, axis=1)``'s bits (the
    same pairwise sum divided by ``L``), without its generic wrapper (a tick's baselines take
    a dozen means of 30 numbers, where the wrapper cost more than the sums)."""
    out: np.ndarray = np.add.reduce(x, axis=1) / x.shape[1]
    return out


def _naive_candle(w: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Open at the last close, given close, mean wicks and mean volume of ``w``."""
    body_top = np.maximum(w[:, :, 0], w[:, :, 3])
    body_bottom = np.minimum(w[:, :, 0], w[:, :, 3])
    upper = row_means(w[:, :, 1] - body_top)
    lower = row_means(body_bottom - w[:, :, 2])
    o = w[:, -1, 3]
    out = np.empty((w.shape[0], 5))
    out[:, 0] = o
    out[:, 3] = close
    out[:, 1] = np.maximum(o, close) + upper
    out[:, 2] = np.minimum(o, close) - lower
    out[:, 4] = row_means(w[:, :, 4])
    return out


class Persistence(_Lookback):
    """The next candle is the last candle."""

    family = "persistence"

    def _next(self, w: np.ndarray) -> np.ndarray:
        return w[:, -1, :].copy()

    def _probs(self, move: np.ndarray) -> np.ndarray:
        return np.full((move.shape[0], 3), 1.0 / 3.0)


class Drift(_Lookback):
    """A random walk with the window's mean drift."""

    family = "drift"

    def _next(self, w: np.ndarray) -> np.ndarray:
        r = self._recent(w)
        drift = row_means(r[:, 1:, 3] - r[:, :-1, 3]) if r.shape[1] > 1 else 0.0
        return _naive_candle(r, r[:, -1, 3] + drift)


class MovingAverage(_Lookback):
    """The close reverts to the mean of recent closes."""

    family = "moving_average"

    def _next(self, w: np.ndarray) -> np.ndarray:
        r = self._recent(w)
        return _naive_candle(r, row_means(r[:, :, 3]))


def make_baseline(cls: type[_Lookback], raw: Mapping[str, Any]) -> Baseline:
    """Build the baseline ``cls`` from keyword settings."""
    cfg = parse_config(BaselineConfig, cls.family, raw)
    if cfg.lookback != 0:
        positive(cls.family, lookback=cfg.lookback)
    return cls(cfg)

"""What every model family shares: identity from its config, input windows, state checks."""

from __future__ import annotations

from abc import ABC
from collections.abc import Mapping
from typing import Any

import numpy as np

from ghostcandle.models.base import ModelInputs
from ghostcandle.models.config import ModelConfig


class ConfiguredModel(ABC):
    """The config-derived half of ``Model``: name, timeframes, windows and config."""

    family = "model"
    cfg: ModelConfig

    def __init__(self, cfg: ModelConfig) -> None:
        self.cfg = cfg
        self._windows = cfg.window_lengths()

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

    def config(self) -> dict[str, Any]:
        """Return the config as plain values."""
        return self.cfg.to_json()

    def _check_state(self, state: Mapping[str, Any]) -> None:
        """Refuse a state saved by another family or config, with a clear error."""
        if state.get("family") != self.family or state.get("config") != self.config():
            raise ValueError(
                f"state of {state.get('family')!r} does not fit this {self.family} model: "
                "create the model with the config stored in the state"
            )

    def _input_window(self, inputs: ModelInputs, tf: str, dtype: type) -> np.ndarray:
        """Return the last ``windows[tf]`` candles of the ``tf`` input as a ``dtype`` array."""
        raw = inputs.windows.get(tf)
        if raw is None:
            raise ValueError(f"inputs lack a {tf} window: give one window per model timeframe")
        w = np.asarray(raw)
        n = self._windows[tf]
        if w.ndim != 3 or w.shape[2] != 5 or w.shape[1] < n:
            raise ValueError(f"{tf} inputs have shape {w.shape}: give (batch, >= {n}, 5)")
        return np.ascontiguousarray(w[:, -n:], dtype=dtype)

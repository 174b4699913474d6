"""What a backtest is asked to do: a model, one series, a range, a broker, a training mode."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.training_modes import TrainingMode

__all__ = ["TRAIN_MODES", "BacktestRequest", "Progress"]

#: Training modes a backtest accepts (``manual`` needs a trader).
TRAIN_MODES: tuple[TrainingMode, ...] = tuple(
    m for m in TrainingMode if m is not TrainingMode.MANUAL
)

#: ``progress(done, total)``: candles of the traded timeframe handled so far, out of all.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class BacktestRequest:
    """What to backtest: a model family and settings, one series, a range, a broker, training.

    The range is of close times: candles of ``timeframe`` closing in ``(start, end]`` are traded.
    ``model_config`` goes to ``create_model``; its timeframes default to ``[timeframe]``.
    """

    model: str
    symbol: str
    timeframe: str
    start: int
    end: int
    model_config: Mapping[str, Any] = field(default_factory=dict)
    train: TrainingMode = TrainingMode.NONE
    seed: int = 0
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    batched: bool = True
    batch_size: int = 256
    torch_threads: int | None = 1
    #: ``fresh`` seeded weights, or ``annotations``: the latest annotation-trained checkpoint of
    #: ``model`` (its model config is then the one used; see ``engine.start_checkpoint``)
    start_from: str = "fresh"

    def model_settings(self) -> dict[str, Any]:
        """Return the settings the model is built from (seed and timeframes filled in)."""
        return {"seed": self.seed, "timeframes": [self.timeframe], **dict(self.model_config)}

    def to_json(self) -> dict[str, Any]:
        """Return the request as plain JSON values."""
        return {
            "model": self.model,
            "model_config": self.model_settings(),
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "start": self.start,
            "end": self.end,
            "train": self.train,
            "seed": self.seed,
            "start_from": self.start_from,
            "broker": self.broker.to_json(),
        }

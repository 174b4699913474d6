"""What a backtest is asked to do: a model, one series, a range, a broker, a training mode."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.training.policy import DEFAULT_SCHEDULES, Schedule

__all__ = ["TRAIN_MODES", "BacktestRequest", "Progress", "backtest_schedules"]

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

    A backtest that trains learns as a live session in its mode, with one difference of
    schedule: the traded timeframe's resolved predictions are trained in batches every
    ``train_every`` of them (the newest ones, filled up to the live batch size from the buffer
    when fewer), not after each one; a confirmed pivot's samples ride in the next such batch
    (``every_candle``; ``pivots_only`` trains each pivot at once). Seeded and synchronous: a
    rerun trains the same steps on the same batches.
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
    #: samples of the traded timeframe between two training steps (see above)
    train_every: int = 16
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
            "train_every": self.train_every,
            "seed": self.seed,
            "start_from": self.start_from,
            "broker": self.broker.to_json(),
        }


def backtest_schedules(req: BacktestRequest) -> dict[str, Schedule]:
    """Return the training schedules of a backtest: the traded timeframe's every ``train_every``.

    >>> backtest_schedules(BacktestRequest(model="m", symbol="S", timeframe="1m", start=0,
    ...                                    end=1))["1m"]
    Schedule(batch_size=16, buffer_size=1000, interval=16)
    """
    live = DEFAULT_SCHEDULES.get(req.timeframe, Schedule(8, 500, 1))
    return {
        **DEFAULT_SCHEDULES,
        req.timeframe: Schedule(
            max(live.batch_size, req.train_every), live.buffer_size, req.train_every
        ),
    }

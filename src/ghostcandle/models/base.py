"""The one interface every model family implements (transformer, CNN, baselines; DQN, order book).

How a prediction flows::

    raw windows per timeframe (store, by FrameRef)          {"1s": (600, 5), "1m": (240, 5), ...}
      -> prepare_inputs(samples)        (models/inputs.py)  ModelInputs + one norm_params per sample
      -> model.predict(inputs)                              ModelOutputs (normalised space)
      -> outputs.forecasts(norm_params)                     one Forecast per sample, in prices

- **Inputs** (``ModelInputs``): per timeframe a float32 array ``(batch, length, 5)`` of OHLCV,
  each window normalised on its own by ``domain.normalisation`` (prices relative to the last close
  in units of a power-of-two candle range, volume in units of a power-of-two mean volume). The
  normalisation parameters are plain floats (``{"1m.price_ref": ..., "1m.price_scale": ...,
  "1m.volume_scale": ...}``) that travel inside the ``FrameRef``. Windows longer than the model's
  configured length are cut to their last candles; shorter ones are refused. ``extras`` carries
  further named inputs (an order-book model's depth snapshot) without changing this interface.
- **Outputs** (``ModelOutputs``): per covered timeframe the next candle ``(batch, 5)`` in that
  timeframe's normalised space (``denormalise`` turns it back into prices exactly), and action
  probabilities ``(batch, 3)`` in the order HOLD, BUY, SELL; the action is their argmax and the
  confidence their max. Learning families build high >= max(open, close), low <= min(open,
  close) and volume >= 0 into their heads, so every forecast is a valid candle. A family may
  also offer ``predict_only(inputs, timeframes)``: the same outputs with only ``timeframes``'
  candles (the loop asks for the timeframe whose candle closed, a batched backtest for none);
  the baselines and the torch families do, and ``predict_asked`` calls it where there is one.
- **Training** (``TrainingBatch``): the same inputs, the actual next candle per timeframe
  normalised with the *input window's* parameters (NaN rows where the target is not known, e.g.
  a 1h candle that has not closed yet), action labels (``-1`` where none), optional per-sample
  weights. ``train_step(batch)`` applies one update and returns its loss components (``"loss"``
  is the total). A reinforcement-learning agent (DQN) gets experience batches through the same
  call: ``actions`` are the actions it took, ``rewards`` what they earned and ``next_inputs``
  the state that followed; it acts through ``predict`` like every other model.
- **State**: ``state_dict()`` returns plain containers and tensors only (family, config, step,
  weights, optimiser state), loadable with ``torch.load(..., weights_only=True)``;
  ``load_state_dict`` restores it exactly. ``step`` counts applied training steps; ``version``
  names the weights (family, config digest, step) for frame references and the ledger.
- **Determinism**: a model built with the same config and seed predicts and trains identically.
  ``predict`` never changes the model. Baselines never learn: ``learns`` is False and their
  ``train_step`` changes nothing and returns ``{}``.
- **Threads**: a model is not thread-safe for writes. ``engine.trainer.Trainer`` is the only
  writer; inference runs on immutable published copies (``clone()``), so ``predict`` may run
  concurrently on a copy that is no longer trained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ghostcandle.domain.actions import ACTIONS, Action
from ghostcandle.domain.normalisation import denormalise_row


@dataclass(frozen=True)
class ModelInputs:
    """A batch of normalised input windows: timeframe -> float32 ``(batch, length, 5)``."""

    windows: Mapping[str, np.ndarray]
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        """Return the number of samples in the batch."""
        first = next(iter(self.windows.values()), None)
        return 0 if first is None else int(first.shape[0])


#: one sample's forecast in prices, as plain values: the candle (open, high, low, close,
#: volume), the action, its probabilities (hold, buy, sell) and the confidence
SampleForecast = tuple[
    tuple[float, float, float, float, float], Action, tuple[float, float, float], float
]


@dataclass(frozen=True)
class Forecast:
    """One sample's prediction in prices: next candle per timeframe, action, confidence."""

    candles: Mapping[str, tuple[float, float, float, float, float]]
    action: Action
    probabilities: tuple[float, float, float]
    confidence: float


@dataclass(frozen=True)
class ModelOutputs:
    """A batch of predictions in normalised space.

    ``candles``: timeframe -> float32 ``(batch, 5)`` next candle (open, high, low, close,
    volume), in the normalisation of that timeframe's input window. ``action_probs``: float32
    ``(batch, 3)`` (HOLD, BUY, SELL), rows summing to 1.
    """

    candles: Mapping[str, np.ndarray]
    action_probs: np.ndarray

    @property
    def actions(self) -> np.ndarray:
        """Return the advised action per sample (int64 ``Action`` values)."""
        out: np.ndarray = np.argmax(self.action_probs, axis=1).astype(np.int64)
        return out

    @property
    def confidence(self) -> np.ndarray:
        """Return the probability of the advised action per sample."""
        out: np.ndarray = np.max(self.action_probs, axis=1)
        return out

    def first(self, norm_params: Mapping[str, float], timeframe: str) -> SampleForecast:
        """Return the first sample's ``timeframe`` candle in prices, action, probabilities and
        confidence: ``forecasts([norm_params], [timeframe])[0]``'s values, without a batch's
        lists (a loop tick turns one sample of each of its models).
        """
        row = self.action_probs[0]
        p = row.tolist()
        if p[0] != p[0] or p[1] != p[1] or p[2] != p[2]:  # NaN: numpy's argmax and max rule
            at, best = int(np.argmax(row)), float(np.max(row))
        else:
            best = max(p)
            at = p.index(best)  # the first of equal maxima, as ``argmax``
        return (
            denormalise_row(timeframe, self.candles[timeframe][0].tolist(), norm_params),
            ACTIONS[at],
            (p[0], p[1], p[2]),
            best,
        )

    def forecasts(
        self, norm_params: Sequence[Mapping[str, float]], timeframes: Sequence[str] | None = None
    ) -> list[Forecast]:
        """Turn the batch into prices, sample ``i`` with ``norm_params[i]`` (``denormalise``).

        ``timeframes`` limits the candles turned (default: every one the batch holds).
        """
        if len(norm_params) != self.action_probs.shape[0]:
            raise ValueError(
                f"{len(norm_params)} norm_params for a batch of {self.action_probs.shape[0]}: "
                "give one per sample, in batch order"
            )
        wanted = self.candles if timeframes is None else {t: self.candles[t] for t in timeframes}
        # plain floats taken once per array (``tolist``: the values ``float()`` gives each)
        prices = {
            tf: [denormalise_row(tf, row, norm_params[i]) for i, row in enumerate(c.tolist())]
            for tf, c in wanted.items()
        }
        actions, conf = self.actions.tolist(), self.confidence.tolist()
        probs = self.action_probs.tolist()
        out = []
        for i in range(len(norm_params)):
            p = probs[i]
            out.append(
                Forecast(
                    candles={tf: rows[i] for tf, rows in prices.items()},
                    action=ACTIONS[actions[i]],
                    probabilities=(p[0], p[1], p[2]),
                    confidence=conf[i],
                )
            )
        return out


@dataclass(frozen=True)
class TrainingBatch:
    """A labelled batch (or, with ``rewards``, an experience batch for an RL agent).

    ``targets``: timeframe -> float32 ``(batch, 5)`` actual next candle, normalised with the
    input window's parameters; NaN rows (or an absent timeframe) mean "not known".
    ``actions``: int64 ``(batch,)`` labels (``Action`` values), ``-1`` where none. ``weights``:
    optional float32 ``(batch,)`` per-sample weights (e.g. profit-weighted replay).
    ``rewards``/``next_inputs``: what an acting agent earned and the state that followed.
    """

    inputs: ModelInputs
    targets: Mapping[str, np.ndarray]
    actions: np.ndarray
    weights: np.ndarray | None = None
    rewards: np.ndarray | None = None
    next_inputs: ModelInputs | None = None
    #: how to rebuild this batch from stored references (plain JSON values, set by whoever built
    #: it: frame ids, dataset rows, annotation ids), recorded with the step so it can be replayed
    source_refs: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def batch_size(self) -> int:
        """Return the number of samples in the batch."""
        return self.inputs.batch_size


@runtime_checkable
class Model(Protocol):
    """What every model family offers; see the module docstring for the contract."""

    @property
    def name(self) -> str:
        """Return the registered family name (``"transformer"``, ``"persistence"``, ...)."""
        ...

    @property
    def timeframes(self) -> tuple[str, ...]:
        """Return the timeframes whose windows the model reads and whose next candle it predicts."""
        ...

    @property
    def windows(self) -> Mapping[str, int]:
        """Return the window length (candles) the model reads per timeframe."""
        ...

    @property
    def learns(self) -> bool:
        """Tell whether ``train_step`` can change the model (False for baselines)."""
        ...

    @property
    def step(self) -> int:
        """Return how many training steps have been applied to these weights."""
        ...

    @property
    def version(self) -> str:
        """Return a name for these weights: family, config digest and step."""
        ...

    def config(self) -> dict[str, Any]:
        """Return the config that ``create_model(name, **config)`` rebuilds this model from."""
        ...

    def predict(self, inputs: ModelInputs) -> ModelOutputs:
        """Predict a batch; never change the model."""
        ...

    def train_step(self, batch: TrainingBatch) -> dict[str, float]:
        """Apply one update on ``batch`` and return its loss components (``"loss"`` = total)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Return the full state (weights, optimiser, step) as plain containers and tensors."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state produced by ``state_dict`` of a model with the same config."""
        ...

    def clone(self) -> Model:
        """Return an independent copy with the same config, weights, optimiser state and step."""
        ...


def predict_asked(model: Model, inputs: ModelInputs, timeframes: Sequence[str]) -> ModelOutputs:
    """Return ``model``'s outputs holding ``timeframes``' candles (and the actions).

    Through ``predict_only`` where the family offers it (no other candle is made), else
    ``predict`` (every candle): the figures asked for are the same either way.
    """
    only = getattr(model, "predict_only", None)
    return model.predict(inputs) if only is None else only(inputs, timeframes)

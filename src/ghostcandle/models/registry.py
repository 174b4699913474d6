"""The model registry: ``create_model(name, **config)`` for every family.

>>> model_names()[:2]
('persistence', 'drift')
>>> create_model("persistence", timeframes=["1m"], windows={"1m": 30}).windows
{'1m': 30}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ghostcandle.domain.errors import UserInputError
from ghostcandle.models.base import Model
from ghostcandle.models.baselines import Drift, MovingAverage, Persistence, make_baseline
from ghostcandle.models.imbalance_baseline import make_imbalance
from ghostcandle.models.majority_baseline import Majority, make_majority
from ghostcandle.models.range_baseline import VolRange, make_vol_range

Factory = Callable[[Mapping[str, Any]], Model]

_FACTORIES: dict[str, Factory] = {
    "persistence": lambda raw: make_baseline(Persistence, raw),
    "drift": lambda raw: make_baseline(Drift, raw),
    "moving_average": lambda raw: make_baseline(MovingAverage, raw),
    "vol_range": make_vol_range,
    "majority": make_majority,
    "imbalance": make_imbalance,
}
#: baselines whose constants are fitted on training candles (``fit_baseline``)
FITTED_BASELINES: tuple[str, ...] = ("vol_range", "majority")
# families whose train_step never changes them
_NEVER_LEARN: set[str] = {
    "persistence", "imbalance", "drift", "moving_average", "vol_range", "majority",
}  # fmt: skip
# baselines that read the order book: scored only where depth is stored
_READS_DEPTH: set[str] = {"imbalance"}


def _register_learning_families() -> None:
    # imported here so that the registry stays importable while torch loads lazily
    from ghostcandle.models.cnn import make_cnn
    from ghostcandle.models.cob import make_cob
    from ghostcandle.models.dqn import make_dqn
    from ghostcandle.models.excursion_mlp import make_excursion_mlp
    from ghostcandle.models.transformer import make_transformer

    _FACTORIES.setdefault("transformer", make_transformer)
    _FACTORIES.setdefault("cnn", make_cnn)
    _FACTORIES.setdefault("excursion_mlp", make_excursion_mlp)
    _FACTORIES.setdefault("cob", make_cob)
    _FACTORIES.setdefault("dqn", make_dqn)


def register_model(name: str, factory: Factory, *, learns: bool = True) -> None:
    """Add a family (e.g. a DQN agent) under ``name``; refuse to replace an existing one."""
    _register_learning_families()
    if name in _FACTORIES:
        raise UserInputError(f"model {name!r} is already registered: pick another name")
    _FACTORIES[name] = factory
    if not learns:
        _NEVER_LEARN.add(name)


def model_names() -> tuple[str, ...]:
    """Return every registered family name, baselines first."""
    _register_learning_families()
    return tuple(_FACTORIES)


def baseline_names(*, depth: bool = False) -> tuple[str, ...]:
    """Return the registered families that never learn.

    Those that read the order book (``imbalance``) only with ``depth``: the others are what is
    scored beside every model, on candles alone.
    """
    return tuple(n for n in model_names() if n in _NEVER_LEARN and (depth or n not in _READS_DEPTH))


def fit_baseline(model: Model, history: Sequence[np.ndarray], threshold: float) -> Model:
    """Return ``model`` with its constants fitted on training ``history``, if it has any.

    ``history`` holds training series of the model's base timeframe, ``(n, 5)`` OHLCV rows each,
    oldest first; ``threshold`` is the label threshold. Models without fitted constants (and a
    history too short to fit on) come back unchanged.
    """
    if not isinstance(model, VolRange | Majority):
        return model
    try:
        return model.fitted(history, threshold)
    except UserInputError:
        return model  # too little history: the documented unfitted defaults


def create_model(name: str, **config: Any) -> Model:
    """Build a fresh model of family ``name`` from keyword settings (unknown ones are refused)."""
    _register_learning_families()
    factory = _FACTORIES.get(name)
    if factory is None:
        raise UserInputError(f"unknown model {name!r}: use one of {', '.join(_FACTORIES)}")
    return factory(config)

"""Where a live session or a backtest starts: a fresh seeded model or an annotation-trained one.

Batch training on annotations (the training panel) checkpoints its weights under the key
``annotations-<model>`` beside the database. A run may start from the newest complete one of
those instead of from fresh weights. The checkpoint fixes the model's shape: the run adopts the
checkpoint's model config, so a config given explicitly must be exactly that one, and the run
must be able to feed every timeframe it reads (checked by the caller).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.engine.training.checkpoints import (
    CheckpointInfo,
    CheckpointStore,
    checkpoint_dir_for,
)
from ghostcandle.models.base import Model
from ghostcandle.models.registry import create_model

#: What a run starts from: fresh seeded weights, or the latest annotation-trained checkpoint.
START_FROM: tuple[str, ...] = ("fresh", "annotations")


def annotation_checkpoint_key(model: str) -> str:
    """Return the checkpoint key under which training on annotations saves ``model``."""
    return f"annotations-{model}"


@dataclass(frozen=True)
class StartCheckpoint:
    """A loaded annotation-trained checkpoint: its metadata, model config and full state."""

    info: CheckpointInfo
    config: Mapping[str, Any]
    state: Mapping[str, Any]

    def model(self) -> Model:
        """Build the model of the checkpoint's config and load its weights into it."""
        model = create_model(str(self.state["family"]), **dict(self.config))
        model.load_state_dict(self.state)
        return model

    def describe(self) -> dict[str, Any]:
        """Return what the panels show about the starting point."""
        return {
            "key": self.info.key,
            "path": self.info.path,
            "step": self.info.step,
            "version": self.info.version,
            "created_at": self.info.created_at,
            "timeframes": list(self.config.get("timeframes", ())),
        }


def check_start_from(value: str) -> str:
    """Return ``value`` if it names a starting point, else raise a one-line error."""
    if value not in START_FROM:
        raise UserInputError(f"field 'start_from': {value!r} is not one of {', '.join(START_FROM)}")
    return value


def load_annotation_checkpoint(
    db_path: str | os.PathLike[str],
    clock: Clock,
    model: str,
    model_config: Mapping[str, Any] | None = None,
) -> StartCheckpoint:
    """Load the newest annotation-trained checkpoint of ``model`` (``weights_only=True``).

    Raise ``DataMissingError`` when there is none, and ``UserInputError`` when
    ``model_config`` is given and builds another model config than the checkpoint's.
    """
    key = annotation_checkpoint_key(model)
    found = CheckpointStore(checkpoint_dir_for(db_path), clock).load_latest(key)
    if found is None:
        raise DataMissingError(
            f"no annotation-trained checkpoint of {model} ({key}): train {model} on "
            "annotations in the training panel first, or start from fresh weights"
        )
    info, state = found
    family, config = state.get("family"), state.get("config")
    if family != model or not isinstance(config, Mapping):
        raise DataMissingError(
            f"checkpoint {info.path} holds a {family!r} model, not {model}: retrain on annotations"
        )
    if model_config:
        wanted = create_model(model, **dict(model_config)).config()
        if wanted != dict(config):
            diff = sorted(k for k in set(wanted) | set(config) if wanted.get(k) != config.get(k))
            raise UserInputError(
                f"model config does not match checkpoint {info.key} (differs in "
                f"{', '.join(diff)}): leave the model config out to use the checkpoint's"
            )
    return StartCheckpoint(info=info, config=dict(config), state=state)


def seed_checkpoint(store: CheckpointStore, key: str, start: StartCheckpoint) -> bool:
    """Make ``start`` the first checkpoint of series ``key`` unless it already has one.

    A new loop session starts from the seed of its series (a checkpoint whose ``origin`` is
    set); seeding an empty series is how it starts from the annotation-trained weights. Return
    whether it was seeded.
    """
    if store.latest(key) is not None:
        return False
    store.save(key, start.state, version=start.info.version, origin=start.info.name)
    return True

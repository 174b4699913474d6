"""Where a run starts: fresh seeded weights, an annotation-trained model, or a named checkpoint.

Batch training on annotations (the training panel) checkpoints its weights under the key
``annotations-<model>`` beside the database; offline training (``ghostcandle train --name
NAME``) under the key ``NAME``. A live session, a replay or a backtest may start from the newest
complete one of those instead of from fresh weights (``start_from``: ``fresh``,
``annotations`` or the name). The checkpoint fixes the model's shape: the run adopts the
checkpoint's model config, so a config given explicitly must be exactly that one (else it is
refused, naming the settings that differ), and the run must be able to feed every timeframe it
reads (checked by the caller).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, GhostcandleError, UserInputError
from ghostcandle.engine.training.checkpoints import (
    CheckpointInfo,
    CheckpointStore,
    checkpoint_dir_for,
)
from ghostcandle.models.base import Model
from ghostcandle.models.registry import create_model

#: What a run starts from besides a named checkpoint: fresh seeded weights, or the latest
#: annotation-trained checkpoint.
START_FROM: tuple[str, ...] = ("fresh", "annotations")
#: Checkpoint series that belong to something else (training on annotations, sessions): a
#: named checkpoint may not start like them.
RESERVED_PREFIXES: tuple[str, ...] = ("annotations-", "live-", "replay-", "backtest-")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")


def annotation_checkpoint_key(model: str) -> str:
    """Return the checkpoint key under which training on annotations saves ``model``."""
    return f"annotations-{model}"


@dataclass(frozen=True)
class StartCheckpoint:
    """A loaded annotation-trained checkpoint: its metadata, model config and full state."""

    info: CheckpointInfo
    config: Mapping[str, Any]
    state: Mapping[str, Any]
    #: what the run was asked to start from: ``annotations`` or the checkpoint's name
    start_from: str = "annotations"

    @property
    def family(self) -> str:
        """Return the model family the checkpoint holds."""
        return str(self.state["family"])

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
            "start_from": self.start_from,
        }


def check_checkpoint_name(name: str, *, field: str = "--name") -> str:
    """Return ``name`` if it can name an offline-trained checkpoint, else raise one line."""
    if name in START_FROM or not _NAME.match(name) or name.startswith(RESERVED_PREFIXES):
        raise UserInputError(
            f"{field}: {name!r} cannot name a checkpoint: use up to 60 letters, digits, '_', "
            f"'-' or '.', not {' or '.join(START_FROM)} and not starting with "
            f"{', '.join(RESERVED_PREFIXES)}"
        )
    return name


def check_start_from(value: str) -> str:
    """Return ``value`` if it names a starting point, else raise a one-line error."""
    if value in START_FROM:
        return value
    try:
        return check_checkpoint_name(value, field="field 'start_from'")
    except UserInputError:
        raise UserInputError(
            f"field 'start_from': {value!r} is not one of {', '.join(START_FROM)} "
            "nor a checkpoint name (ghostcandle train --name NAME)"
        ) from None


def has_start_checkpoint(db_path: str | os.PathLike[str], clock: Clock, start_from: str) -> bool:
    """Tell whether ``start_from`` is ``fresh``/``annotations`` or names a stored checkpoint."""
    if start_from in START_FROM:
        return True
    try:
        check_checkpoint_name(start_from)
    except UserInputError:
        return False
    return CheckpointStore(checkpoint_dir_for(db_path), clock).latest(start_from) is not None


def load_start_checkpoint(
    db_path: str | os.PathLike[str],
    clock: Clock,
    model: str,
    start_from: str,
    model_config: Mapping[str, Any] | None = None,
) -> StartCheckpoint | None:
    """Load what ``start_from`` names: None (fresh), annotation-trained or named weights.

    ``model`` may be empty for a named checkpoint (its own family is used). Raise as
    ``load_annotation_checkpoint`` and ``load_named_checkpoint`` do, and ``DataMissingError``
    naming ``start_from`` when the checkpoint cannot be read or cannot build its model.
    """
    check_start_from(start_from)
    if start_from == "fresh":
        return None
    try:
        if start_from == "annotations":
            start = load_annotation_checkpoint(db_path, clock, model, model_config)
        else:
            start = load_named_checkpoint(db_path, clock, start_from, model, model_config)
        start.model()  # a checkpoint that cannot build its model is refused now, not mid-run
    except GhostcandleError as exc:
        text = str(exc)
        if "start_from" in text or "cannot be read" not in text:
            raise
        # the store found the file unreadable: say which request field named it
        raise DataMissingError(
            f"field 'start_from': {text[:300]}, or start from fresh weights"
        ) from None
    except Exception as exc:  # unreadable bytes, wrong settings or shapes: a damaged file
        raise DataMissingError(
            f"field 'start_from': the {start_from} checkpoint cannot be loaded "
            f"({type(exc).__name__}: {str(exc)[:160]}): retrain it, or start from fresh weights"
        ) from None
    return start


def load_named_checkpoint(
    db_path: str | os.PathLike[str],
    clock: Clock,
    name: str,
    model: str = "",
    model_config: Mapping[str, Any] | None = None,
) -> StartCheckpoint:
    """Load the newest checkpoint named ``name`` (``ghostcandle train --name``).

    Raise ``UserInputError`` when there is none, when it holds another family than ``model``
    (if given), or when ``model_config`` builds another model config than the checkpoint's.
    """
    check_checkpoint_name(name, field="field 'start_from'")
    found = CheckpointStore(checkpoint_dir_for(db_path), clock).load_latest(name)
    if found is None:
        raise UserInputError(
            f"field 'start_from': no checkpoint named {name!r} beside {db_path}: train one "
            f"with `ghostcandle train --name {name} ...` (list them with `ghostcandle train "
            "--list`), or start from fresh"
        )
    info, state = found
    family, config = state.get("family"), state.get("config")
    if not isinstance(config, Mapping) or not isinstance(family, str):
        raise DataMissingError(f"checkpoint {info.path} holds no model config: retrain it")
    if model and family != model:
        raise UserInputError(
            f"checkpoint {name} holds a {family} model, not {model}: ask for --model {family} "
            "or another checkpoint"
        )
    _check_config(info, family, config, model_config)
    return StartCheckpoint(info=info, config=dict(config), state=state, start_from=name)


def _check_config(
    info: CheckpointInfo,
    family: str,
    config: Mapping[str, Any],
    model_config: Mapping[str, Any] | None,
) -> None:
    """Refuse ``model_config`` if a setting it gives differs from the checkpoint's, naming it.

    The settings asked for are laid over the checkpoint's config; what the checkpoint does not
    hold as asked is the difference.
    """
    if not model_config:
        return
    try:
        wanted = create_model(family, **{**dict(config), **dict(model_config)}).config()
    except UserInputError:  # the asked settings do not even fit together with the rest
        wanted = {**dict(config), **dict(model_config)}
    if wanted != dict(config):
        diff = sorted(k for k in set(wanted) | set(config) if wanted.get(k) != config.get(k))
        shown = "; ".join(f"{k}: {wanted.get(k)!r} vs {config.get(k)!r}" for k in diff)
        raise UserInputError(
            f"model config does not match checkpoint {info.key} (differs in "
            f"{', '.join(diff)}: asked vs stored {shown}): leave the model config out to use "
            "the checkpoint's"
        )


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
    _check_config(info, model, config, model_config)
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

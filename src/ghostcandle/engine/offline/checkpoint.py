"""Named checkpoints of offline training: written whole, under ``<db>.checkpoints/<name>/``.

The state is saved by a ``CheckpointStore`` into a staging directory beside the others and
then renamed into place, so a name either does not exist, holds the previous checkpoint, or
holds the new one complete: a fit that fails or is interrupted leaves nothing under the name.
``start_checkpoint.load_named_checkpoint`` reads it back (``start_from: NAME``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import OperationalError, UserInputError
from ghostcandle.engine.training.checkpoints import CheckpointInfo, CheckpointStore
from ghostcandle.engine.training.start_checkpoint import check_checkpoint_name
from ghostcandle.models.base import Model


def check_free(directory: Path, name: str, *, replace: bool) -> None:
    """Refuse an unusable name, or one already taken unless ``replace``."""
    check_checkpoint_name(name)
    if not replace and (directory / name).exists():
        raise UserInputError(
            f"--name {name}: a checkpoint of that name exists in {directory}: pick another "
            "--name, or pass --replace to overwrite it"
        )


def save_named(
    directory: Path, name: str, model: Model, clock: Clock, *, replace: bool = False
) -> CheckpointInfo:
    """Write ``model``'s state as the one checkpoint named ``name``; return its metadata."""
    check_free(directory, name, replace=replace)
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{name}-", dir=directory))
    target = directory / name
    old = staging / "previous"
    try:
        saved = CheckpointStore(staging, clock, keep=1).save(
            name, model.state_dict(), version=model.version
        )
        if target.exists():
            os.replace(target, old)
        try:
            os.replace(staging / name, target)
        except OSError:
            if old.exists() and not target.exists():
                os.replace(old, target)  # put the previous checkpoint back
            raise
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    info = CheckpointStore(directory, clock).find(name, saved.name)
    if info is None:
        raise OperationalError(f"checkpoint {name} did not verify after it was written: retry")
    return info


def remove_named(directory: Path, name: str) -> None:
    """Delete checkpoint ``name`` (a run whose record could not be stored)."""
    check_checkpoint_name(name)
    shutil.rmtree(directory / name, ignore_errors=True)

"""Spoil an annotation-trained checkpoint in the ways a disk, a bad copy or an old build do."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch

from ghostcandle.domain.clock import LiveClock
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.engine.training.start_checkpoint import annotation_checkpoint_key
from ghostcandle.models.registry import create_model

#: garbage bytes (its sidecar rewritten to match), a config setting of the wrong type, a
#: weight of the wrong shape, no weights at all
CORRUPTIONS = ("garbage", "bad_config", "wrong_shape", "no_weights")


def corrupt_annotation_checkpoint(db_path: Path, model: str, kind: str) -> None:
    """Leave only a ``kind``-spoilt annotation-trained checkpoint of ``model`` beside db_path.

    Each one verifies against its sidecar (size and SHA-256), so only loading it finds out.
    """
    d = checkpoint_dir_for(db_path)
    shutil.rmtree(d, ignore_errors=True)
    state = create_model(model, timeframes=["1m"]).state_dict()
    if kind == "bad_config":
        state["config"] = {**state["config"], "hidden": "lots"}
    elif kind == "wrong_shape":
        weights = state["weights"]
        weights[next(iter(weights))] = torch.zeros(3, 3)
    elif kind == "no_weights":
        del state["weights"]
    info = CheckpointStore(d, LiveClock()).save(annotation_checkpoint_key(model), state)
    if kind == "garbage":
        pt = Path(info.path)
        data = b"not a torch checkpoint " * 40
        pt.write_bytes(data)
        side = pt.with_suffix(".json")
        meta = json.loads(side.read_text())
        meta.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        side.write_text(json.dumps(meta))

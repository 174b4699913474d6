"""Model checkpoints beside the database: atomic writes, checked loads, JSON sidecar metadata.

Layout, for a database ``/data/ghostcandle.duckdb``::

    /data/ghostcandle.checkpoints/<key>/<key>-<step:010d>.pt     the state (torch.save)
    /data/ghostcandle.checkpoints/<key>/<key>-<step:010d>.json   metadata: model, version, step,
                                                                   path, time, bytes, sha256

Both files are written to a temporary name, flushed, fsync'ed and renamed (then the directory
is fsync'ed), and the sidecar is written only after its ``.pt`` is in place. A checkpoint exists
only once its sidecar does, and is used only if the ``.pt`` still has the recorded size and
SHA-256; so a write cut short (``kill -9``, full disk) leaves at most an ignored temporary file
and ``latest`` returns the last complete checkpoint. Loads use ``torch.load(...,
weights_only=True)``: a checkpoint can hold tensors and plain containers, never code.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, UserInputError

_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_TMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class CheckpointInfo:
    """Metadata of one complete checkpoint (the JSON sidecar)."""

    key: str
    model: str
    version: str
    step: int
    path: str
    created_at: int
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        """Return the metadata as a JSON-ready dict."""
        return asdict(self)

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> CheckpointInfo:
        """Rebuild metadata from ``to_json`` output."""
        return CheckpointInfo(
            key=str(data["key"]),
            model=str(data["model"]),
            version=str(data["version"]),
            step=int(data["step"]),
            path=str(data["path"]),
            created_at=int(data["created_at"]),
            size=int(data["size"]),
            sha256=str(data["sha256"]),
        )


def checkpoint_dir_for(db_path: str | os.PathLike[str]) -> Path:
    """Return the checkpoint directory beside a database file (``<stem>.checkpoints``)."""
    p = Path(db_path)
    return p.with_name(p.stem + ".checkpoints")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent, the old file or complete."""
    tmp = path.with_name(path.name + _TMP_SUFFIX)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class CheckpointStore:
    """Save and load model states under one directory (usually ``checkpoint_dir_for(db)``)."""

    def __init__(self, directory: str | os.PathLike[str], clock: Clock, *, keep: int = 5) -> None:
        if keep < 1:
            raise UserInputError(f"keep={keep} checkpoints: keep at least 1")
        self.directory = Path(directory)
        self.clock = clock
        self.keep = keep

    def _key_dir(self, key: str) -> Path:
        if not _KEY.match(key):
            raise UserInputError(
                f"checkpoint key {key!r} is not usable as a file name: "
                "use letters, digits, '_', '-' or '.'"
            )
        return self.directory / key

    def save(
        self, key: str, state: Mapping[str, Any], *, version: str | None = None
    ) -> CheckpointInfo:
        """Write ``state`` (a model's ``state_dict()``) atomically and return its metadata.

        ``key`` names the series of checkpoints (e.g. a session id or a model name);
        ``version`` is the model's version (derived from the state if not given).
        """
        d = self._key_dir(key)
        d.mkdir(parents=True, exist_ok=True)
        step = int(state.get("step", 0))
        buf = io.BytesIO()
        torch.save(dict(state), buf)
        data = buf.getvalue()
        pt = d / f"{key}-{step:010d}.pt"
        write_atomic(pt, data)
        info = CheckpointInfo(
            key=key,
            model=str(state.get("family", "")),
            version=version if version is not None else _version(state),
            step=step,
            path=str(pt),
            created_at=self.clock.now_ms(),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        write_atomic(pt.with_suffix(".json"), json.dumps(info.to_json()).encode())
        self._prune(key)
        return info

    def list(self, key: str) -> list[CheckpointInfo]:
        """Return the recorded checkpoints of ``key``, oldest first (unverified)."""
        d = self._key_dir(key)
        if not d.is_dir():
            return []
        out = []
        for side in sorted(d.glob(f"{key}-*.json")):
            try:
                out.append(CheckpointInfo.from_json(json.loads(side.read_text())))
            except (ValueError, KeyError):
                continue  # a sidecar that cannot be read names no usable checkpoint
        return sorted(out, key=lambda i: (i.step, i.created_at))

    def verify(self, info: CheckpointInfo) -> bool:
        """Tell whether the checkpoint file is complete: recorded size and SHA-256."""
        p = Path(info.path)
        try:
            data = p.read_bytes()
        except OSError:
            return False
        return len(data) == info.size and hashlib.sha256(data).hexdigest() == info.sha256

    def latest(self, key: str) -> CheckpointInfo | None:
        """Return the newest checkpoint of ``key`` that verifies, or None if there is none."""
        for info in reversed(self.list(key)):
            if self.verify(info):
                return info
        return None

    def load(self, info: CheckpointInfo) -> dict[str, Any]:
        """Load a verified checkpoint with ``weights_only=True``; raise if it is damaged."""
        data = Path(info.path).read_bytes() if Path(info.path).exists() else b""
        if len(data) != info.size or hashlib.sha256(data).hexdigest() != info.sha256:
            raise DataMissingError(
                f"checkpoint {info.path} is missing or damaged (size/sha256 differ from its "
                "sidecar): load an older one with latest() or retrain"
            )
        state = torch.load(io.BytesIO(data), weights_only=True)
        if not isinstance(state, dict):
            raise DataMissingError(f"checkpoint {info.path} holds no model state: retrain")
        return state

    def load_latest(self, key: str) -> tuple[CheckpointInfo, dict[str, Any]] | None:
        """Return the newest complete checkpoint of ``key`` and its state, or None."""
        info = self.latest(key)
        return None if info is None else (info, self.load(info))

    def _prune(self, key: str) -> None:
        infos = self.list(key)
        for info in infos[: max(0, len(infos) - self.keep)]:
            for p in (Path(info.path), Path(info.path).with_suffix(".json")):
                p.unlink(missing_ok=True)
        # leftovers of writes that were cut short
        for tmp in self._key_dir(key).glob(f"*{_TMP_SUFFIX}"):
            tmp.unlink(missing_ok=True)


def _version(state: Mapping[str, Any]) -> str:
    fam, cfg, step = state.get("family", ""), state.get("config", {}), state.get("step", 0)
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:8]
    return f"{fam}-{digest}-{step}"


#: Called with the metadata of every checkpoint written (e.g. to record it in the store).
OnCheckpoint = Callable[[CheckpointInfo], None]

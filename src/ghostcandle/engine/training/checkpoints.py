"""Model checkpoints beside the database: atomic writes, checked loads, JSON sidecar metadata.

Layout, for a database ``/data/ghostcandle.duckdb``::

    /data/ghostcandle.checkpoints/<key>/<key>-<step:010d>.pt     the state (torch.save)
    /data/ghostcandle.checkpoints/<key>/<key>-<step:010d>.json   metadata: model, version, step,
                                                                   name, time, bytes, sha256

A checkpoint is named relative to its checkpoint directory (``<key>/<key>-<step>.pt``), in its
sidecar and wherever it is referenced (a session's row), and always resolved against the
directory of the database in use: a copy of a database directory reads and prunes its own
files, never the original's, and a relative ``--db`` works from any working directory. Old
sidecars that recorded a path are read by the file name beside them.

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
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, UserInputError

_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_TMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class CheckpointInfo:
    """Metadata of one complete checkpoint (the JSON sidecar).

    ``name`` is the file relative to the checkpoint directory; ``path`` is where the store that
    listed or wrote it found it (not stored, not compared: the same checkpoint in a copied
    directory is the same checkpoint).
    """

    key: str
    model: str
    version: str
    step: int
    name: str
    created_at: int
    size: int
    sha256: str
    #: the checkpoint this one copies (a run's starting point, e.g. annotation training)
    origin: str = ""
    path: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        """Return the metadata as a JSON-ready dict (the sidecar: no absolute path)."""
        data = asdict(self)
        del data["path"]
        return data

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> CheckpointInfo:
        """Rebuild metadata from ``to_json`` output (or an old sidecar that recorded a path)."""
        key = str(data["key"])
        name = data.get("name")
        if name is None:  # old sidecar: the path as written then; its file lies beside it
            name = f"{key}/{Path(str(data['path'])).name}"
        return CheckpointInfo(
            key=key,
            model=str(data["model"]),
            version=str(data["version"]),
            step=int(data["step"]),
            name=str(name),
            created_at=int(data["created_at"]),
            size=int(data["size"]),
            sha256=str(data["sha256"]),
            origin=str(data.get("origin", "")),
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
    write_all_atomic(path.parent, [(path.name, data)])


def write_all_atomic(directory: Path, files: Sequence[tuple[str, bytes]]) -> None:
    """Write files of one directory, each atomically (absent, the old file or complete).

    Each is synced under a temporary name, then they are renamed in the order given, then the
    directory is synced once for all the renames (a sync costs milliseconds on a disk).
    """
    tmps = []
    for name, data in files:
        tmp = directory / (name + _TMP_SUFFIX)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmps.append((tmp, directory / name))
    for tmp, path in tmps:
        os.replace(tmp, path)
    _fsync_dir(directory)


class CheckpointStore:
    """Save and load model states under one directory (usually ``checkpoint_dir_for(db)``).

    ``keep`` checkpoints per key survive pruning, plus the one ``pin``ned (the checkpoint a
    session's committed progress references), which is never deleted.
    """

    def __init__(self, directory: str | os.PathLike[str], clock: Clock, *, keep: int = 5) -> None:
        if keep < 1:
            raise UserInputError(f"keep={keep} checkpoints: keep at least 1")
        # absolute now: a later change of working directory must not move the checkpoints
        self.directory = Path(directory).absolute()
        self.clock = clock
        self.keep = keep
        self._pinned: dict[str, str] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._held: dict[str, set[str]] = {}
        self._locks_guard = threading.Lock()

    def _key_dir(self, key: str) -> Path:
        if not _KEY.match(key):
            raise UserInputError(
                f"checkpoint key {key!r} is not usable as a file name: "
                "use letters, digits, '_', '-' or '.'"
            )
        return self.directory / key

    def file(self, info: CheckpointInfo) -> Path:
        """Return where the checkpoint's state lies in this store's directory."""
        return self._key_dir(info.key) / Path(info.name).name

    def pin(self, key: str, name: str | None) -> None:
        """Keep checkpoint ``name`` of ``key`` whatever pruning would do (None: unpin)."""
        if name is None:
            self._pinned.pop(key, None)
        else:
            self._pinned[key] = f"{key}/{Path(name).name}"

    def save(
        self,
        key: str,
        state: Mapping[str, Any],
        *,
        version: str | None = None,
        origin: str = "",
        hold: bool = False,
    ) -> CheckpointInfo:
        """Write ``state`` (a model's ``state_dict()``) atomically and return its metadata.

        ``hold``: spare it from pruning until ``release`` (a checkpoint written ahead of the
        commit that will reference it, while other checkpoints of its series are written).

        ``key`` names the series of checkpoints (e.g. a session id or a model name);
        ``version`` is the model's version (derived from the state if not given); ``origin``
        names the checkpoint this one copies (a run's starting point), if any.
        """
        d = self._key_dir(key)
        d.mkdir(parents=True, exist_ok=True)
        step = int(state.get("step", 0))
        buf = io.BytesIO()
        torch.save(dict(state), buf)
        data = buf.getvalue()
        pt = d / f"{key}-{step:010d}.pt"
        info = CheckpointInfo(
            key=key,
            model=str(state.get("family", "")),
            version=version if version is not None else _version(state),
            step=step,
            name=f"{key}/{pt.name}",
            created_at=self.clock.now_ms(),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            origin=origin,
            path=str(pt),
        )
        side = json.dumps(info.to_json()).encode()
        with self._saving(key):
            # the state first: a sidecar never names a file that is not complete
            write_all_atomic(d, [(pt.name, data), (pt.with_suffix(".json").name, side)])
            if hold:
                self._held.setdefault(key, set()).add(info.name)
            self._prune(key, keep_also=info.name)
        return info

    def release(self, info: CheckpointInfo) -> None:
        """End the ``hold`` of a checkpoint (pruning may delete it later unless pinned)."""
        with self._saving(info.key):
            self._held.get(info.key, set()).discard(info.name)

    def prune(self, key: str) -> None:
        """Delete ``key``'s checkpoints past the ``keep`` newest, sparing the pinned and held.

        Each save prunes; this is for the end of a series' saves (a session stopping), when
        the checkpoints held while their commits were pending have been released since.
        """
        with self._saving(key):
            self._prune(key, keep_also=None)

    def _saving(self, key: str) -> threading.Lock:
        """Return the lock of ``key``'s saves: one save of a series at a time.

        Pruning deletes the temporary files of writes cut short, which a concurrent save's are.
        """
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def list(self, key: str) -> list[CheckpointInfo]:
        """Return the recorded checkpoints of ``key``, oldest first (unverified)."""
        d = self._key_dir(key)
        if not d.is_dir():
            return []
        out = []
        for side in sorted(d.glob(f"{key}-*.json")):
            info = self._read_sidecar(side)
            if info is not None:
                out.append(info)
        return sorted(out, key=lambda i: (i.step, i.created_at))

    def _read_sidecar(self, side: Path) -> CheckpointInfo | None:
        try:
            info = CheckpointInfo.from_json(json.loads(side.read_text()))
        except (OSError, ValueError, KeyError):
            return None  # a sidecar that cannot be read names no usable checkpoint
        if info.name != f"{side.parent.name}/{side.with_suffix('.pt').name}":
            return None  # another series' sidecar copied here by hand: not this file's
        return replace(info, path=str(self.file(info)))

    def find(self, key: str, name: str) -> CheckpointInfo | None:
        """Return checkpoint ``name`` of ``key`` if it is recorded and verifies, else None.

        ``name`` is relative to the checkpoint directory; an old absolute or relative path
        is looked up by its file name under ``key``.
        """
        side = (self._key_dir(key) / Path(name).name).with_suffix(".json")
        info = self._read_sidecar(side)
        return info if info is not None and self.verify(info) else None

    def verify(self, info: CheckpointInfo) -> bool:
        """Tell whether the checkpoint file is complete: recorded size and SHA-256."""
        try:
            data = self.file(info).read_bytes()
        except OSError:
            return False
        return len(data) == info.size and hashlib.sha256(data).hexdigest() == info.sha256

    def latest(self, key: str) -> CheckpointInfo | None:
        """Return the newest checkpoint of ``key`` that verifies, or None if there is none."""
        for info in reversed(self.list(key)):
            if self.verify(info):
                return info
        return None

    def seed(self, key: str) -> CheckpointInfo | None:
        """Return the newest verified checkpoint of ``key`` copied from a starting point."""
        for info in reversed(self.list(key)):
            if info.origin and self.verify(info):
                return info
        return None

    def load(self, info: CheckpointInfo) -> dict[str, Any]:
        """Load a verified checkpoint with ``weights_only=True``; raise if it is damaged."""
        p = self.file(info)
        data = p.read_bytes() if p.exists() else b""
        if len(data) != info.size or hashlib.sha256(data).hexdigest() != info.sha256:
            raise DataMissingError(
                f"checkpoint {p} is missing or damaged (size/sha256 differ from its "
                "sidecar): load an older one with latest() or retrain"
            )
        try:
            state = torch.load(io.BytesIO(data), weights_only=True)
        except Exception as exc:  # bytes that match their sidecar yet are no torch state
            why = " ".join(str(exc).split())[:200]
            raise DataMissingError(
                f"checkpoint {p} cannot be read ({type(exc).__name__}: {why}): retrain it"
            ) from None
        if not isinstance(state, dict):
            raise DataMissingError(f"checkpoint {p} holds no model state: retrain")
        return state

    def load_latest(self, key: str) -> tuple[CheckpointInfo, dict[str, Any]] | None:
        """Return the newest complete checkpoint of ``key`` and its state, or None."""
        info = self.latest(key)
        return None if info is None else (info, self.load(info))

    def _prune(self, key: str, keep_also: str | None) -> None:
        spared = {keep_also, self._pinned.get(key), *self._held.get(key, ())}
        infos = [i for i in self.list(key) if i.name not in spared]
        for info in infos[: max(0, len(infos) - max(0, self.keep - 1))]:
            p = self.file(info)
            # the sidecar first: cut short between the two, no sidecar names a missing file
            for f in (p.with_suffix(".json"), p):
                f.unlink(missing_ok=True)
        # leftovers of writes that were cut short
        for tmp in self._key_dir(key).glob(f"*{_TMP_SUFFIX}"):
            tmp.unlink(missing_ok=True)


def _version(state: Mapping[str, Any]) -> str:
    fam, cfg, step = state.get("family", ""), state.get("config", {}), state.get("step", 0)
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:8]
    return f"{fam}-{digest}-{step}"


#: Called with the metadata of every checkpoint written (e.g. to record it in the store).
OnCheckpoint = Callable[[CheckpointInfo], None]

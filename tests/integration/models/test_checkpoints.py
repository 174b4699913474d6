"""Checkpoints: round trip, atomic writes, damaged files never loaded, kill -9 mid-write."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.engine.training.checkpoints import (
    CheckpointInfo,
    CheckpointStore,
    checkpoint_dir_for,
)
from ghostcandle.models.registry import create_model

from ..hardening.kill import CHECKPOINT_WRITER
from .conftest import SMALL, make_batch


def _trained(steps: int) -> object:
    m = create_model("cnn", **SMALL)
    _, batch = make_batch(m, seed=1)
    for _ in range(steps):
        m.train_step(batch)
    return m


def test_round_trip_restores_the_same_model(tmp_path: Path) -> None:
    clock = ReplayClock(1_722_000_000_000)
    store = CheckpointStore(checkpoint_dir_for(tmp_path / "gc.duckdb"), clock)
    m = _trained(2)
    info = store.save("sess-1", m.state_dict(), version=m.version)
    assert Path(info.path).parent == tmp_path / "gc.checkpoints" / "sess-1"
    assert (info.model, info.step, info.version, info.created_at) == (
        "cnn",
        2,
        m.version,
        clock.now_ms(),
    )
    side = json.loads(Path(info.path).with_suffix(".json").read_text())
    assert CheckpointInfo.from_json(side) == info
    assert store.latest("sess-1") == info

    fresh = create_model("cnn", **SMALL)
    fresh.load_state_dict(store.load(info))
    inputs, _ = make_batch(fresh, seed=2)
    assert fresh.step == 2
    assert np.array_equal(fresh.predict(inputs).candles["1m"], m.predict(inputs).candles["1m"])


def test_truncated_checkpoint_is_never_loaded(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, ReplayClock(0))
    good = store.save("k", _trained(1).state_dict())
    bad = store.save("k", _trained(2).state_dict())
    data = Path(bad.path).read_bytes()
    Path(bad.path).write_bytes(data[: len(data) // 2])  # as if the disk lost the tail
    assert store.latest("k") == good
    with pytest.raises(DataMissingError, match="missing or damaged"):
        store.load(bad)
    # a leftover temporary file of an interrupted write is ignored as well
    Path(good.path).with_name("k-0000000009.pt.tmp").write_bytes(data[:100])
    assert store.latest("k") == good


def test_code_in_a_checkpoint_is_refused_by_weights_only(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, ReplayClock(0))
    info = store.save("k", {"family": "cnn", "step": 1, "weights": {}})
    buf = io.BytesIO()
    torch.save({"step": 1, "payload": Fraction(1, 3)}, buf)  # any class: unpickling runs code
    data = buf.getvalue()
    Path(info.path).write_bytes(data)
    forged = CheckpointInfo(
        **{**info.to_json(), "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    )
    with pytest.raises(Exception, match=r"[Ww]eights only load failed"):
        store.load(forged)


def test_old_checkpoints_are_pruned(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, ReplayClock(0), keep=2)
    for step in range(1, 5):
        store.save("k", {"family": "x", "step": step})
    assert [i.step for i in store.list("k")] == [3, 4]
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == [
        "k-0000000003.json",
        "k-0000000003.pt",
        "k-0000000004.json",
        "k-0000000004.pt",
    ]


def test_kill_9_mid_write_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHECKPOINT_WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "1"  # one checkpoint is complete
        # then kill it the moment it is writing the next one (its temporary file exists)
        deadline = time.monotonic() + 20
        while not list((tmp_path / "k").glob("*.pt.tmp")) and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = CheckpointStore(tmp_path, ReplayClock(0))
    found = store.load_latest("k")
    assert found is not None
    info, state = found
    assert state["step"] == info.step >= 1
    assert torch.equal(state["weights"]["w"][:3], torch.tensor([0.0, 1.0, 2.0]) + info.step)


def test_garbage_that_matches_its_sidecar_is_one_clear_error(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path, ReplayClock(0))
    info = store.save("k", _trained(1).state_dict())
    data = b"not a torch file at all\n" * 10
    Path(info.path).write_bytes(data)
    forged = CheckpointInfo(
        **{**info.to_json(), "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    )
    with pytest.raises(DataMissingError, match="cannot be read") as err:
        store.load(forged)
    assert "\n" not in str(err.value)
    assert "retrain" in str(err.value)

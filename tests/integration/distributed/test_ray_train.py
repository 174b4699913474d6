"""One model trained on real symbols across Ray Train workers (DDP) as it trains in one process.

Real candles in a real database, a real local Ray (the package's), real torch DDP over gloo:
the union's one-process fit is the offline trainer's fit, and two workers give the weights of
the one-process fit of the same global batches; the checkpoint loads through the normal
loader and predicts; a worker that raises, or an address nobody answers at, fails in one line
and writes nothing.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tests.integration.distributed.conftest import FIRST, ingest_real

from ghostcandle.cli.main import main
from ghostcandle.distributed.train import prepare_union
from ghostcandle.distributed.train_worker import single_process
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.engine.offline.dataset import load_dataset
from ghostcandle.engine.offline.service import OfflineRequest
from ghostcandle.engine.offline.trainer import FitSettings
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for
from ghostcandle.engine.training.start_checkpoint import load_named_checkpoint
from ghostcandle.models.excursion_mlp import make_excursion_mlp
from ghostcandle.models.registry import _FACTORIES, register_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

START = FIRST + HOUR_MS  # every 30-candle window is whole from here
END = START + 16 * HOUR_MS
CONFIG = {"windows": {"1m": 30}, "hidden": 16, "layers": 1}


def _argv(db: Path, name: str, *extra: str, model: str = "excursion_mlp") -> list[str]:
    return [
        "train", "--db", str(db), "--model", model, "--timeframes", "1m",
        "--from", format_time(START), "--to", format_time(END), "--epochs", "2",
        "--batch-size", "64", "--model-config", json.dumps(CONFIG), "--name", name,
        "--json", *extra,
    ]  # fmt: skip


def _written(db: Path) -> tuple[list[Any], list[Any], list[str]]:
    """Return the offline runs, training runs and checkpoint folders beside the database."""
    with Database(db, read_only=True) as d:
        offline = d.con.execute("SELECT run_id FROM offline_runs ORDER BY run_id").fetchall()
        runs = d.con.execute("SELECT run_id FROM training_runs ORDER BY run_id").fetchall()
    folder = checkpoint_dir_for(db)
    names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return offline, runs, names


@pytest.fixture(scope="module")
def real_db(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a database of 1100 real 1m candles each of BTC/USDT and ETH/USDT."""
    return ingest_real(shared_data, tmp_path_factory.mktemp("ray_train"), rows=1100)


def _weights(db: Path, name: str) -> dict[str, torch.Tensor]:
    return dict(load_named_checkpoint(db, LiveClock(), name).state["weights"])


def _request(symbol: str, name: str) -> OfflineRequest:
    settings = FitSettings(epochs=2, batch_size=64)
    return OfflineRequest(
        model="excursion_mlp", symbol=symbol, timeframes=["1m"], start=START, end=END,
        model_config=CONFIG, settings=settings, name=name,
    )  # fmt: skip


def _one_process(db: Path, symbols: list[str], pad: int) -> dict[str, torch.Tensor]:
    """Return the weights of the union of ``symbols`` fitted in this process (no Ray)."""
    req = _request(symbols[0], "unused")
    with Database(db, read_only=True) as d:
        union = prepare_union(d, req, symbols, LiveClock())
    return dict(single_process(union, req, pad=pad).best_state["weights"])


def _assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        assert torch.allclose(value, b[key], rtol=1e-5, atol=1e-6), key


def test_the_one_process_union_fit_is_the_offline_trainers_fit(
    real_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the union's batches and steps on one symbol are `train --symbol`'s: the same weights
    assert main(_argv(real_db, "single-eth", "--symbol", "ETH/USDT")) == 0
    capsys.readouterr()
    _assert_close(_weights(real_db, "single-eth"), _one_process(real_db, ["ETH/USDT"], pad=1))


def test_two_workers_fit_as_one_process_on_the_same_batches(
    real_db: Path, local_ray: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    symbols = ["BTC/USDT", "ETH/USDT"]
    argv = _argv(real_db, "ddp-both", "--symbols", ",".join(symbols), "--ray", "--workers", "2")
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    ddp, one = out["ddp"], out["single_process"]
    # DDP's averaged gradients are the one-process gradients of the same global batches
    _assert_close(_weights(real_db, "ddp-both"), _one_process(real_db, symbols, pad=2))
    assert (ddp["workers"], ddp["train_samples"]) == (2, one["train_samples"])
    assert ddp["best_epoch"] == one["best_epoch"]
    for key in ("train_loss", "val_loss"):
        got = [e[key] for e in ddp["epochs"]]
        assert got == pytest.approx([e[key] for e in one["epochs"]], rel=1e-5), key
    skill = ddp["skill"]["close_skill_vs_strongest"]
    assert skill == pytest.approx(one["skill"]["close_skill_vs_strongest"], rel=1e-4)
    assert ddp["skill"]["n"] == ddp["val_samples"]  # scored on both symbols' validation rows
    # the normal loader builds the model, which predicts the stored decisions
    start = load_named_checkpoint(real_db, LiveClock(), "ddp-both", "excursion_mlp", CONFIG)
    model = start.model()
    with Database(real_db, read_only=True) as db:
        data = load_dataset(
            CandleStore(db), "ETH/USDT", model.timeframes, model.windows, START, END
        )
    predicted = model.predict(data.inputs(np.arange(8))[0])
    assert np.isfinite(predicted.candles["1m"]).all()
    assert predicted.action_probs.shape == (8, 3)
    # the run is recorded as a fit and as a training run with its validation curve
    with Database(real_db, read_only=True) as db:
        name, symbol = db.con.execute(
            "SELECT name, symbol FROM offline_runs WHERE run_id = $r", {"r": out["run_id"]}
        ).fetchall()[0]
        kind, val = db.con.execute(
            "SELECT kind, val_curve FROM training_runs WHERE run_id = $r", {"r": out["run_id"]}
        ).fetchall()[0]
    assert (name, symbol, kind) == ("ddp-both", "BTC/USDT,ETH/USDT", "offline")
    assert len(json.loads(val) if isinstance(val, str) else val) == ddp["epochs_run"]
    assert not Path(f"{real_db}.ray").exists()  # the snapshot and Ray Train's folder are gone


def test_a_worker_that_raises_fails_the_run_and_writes_nothing(
    real_db: Path, local_ray: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # a family installed on the driver only: every worker refuses to build it
    register_model("driver_only_mlp", make_excursion_mlp)
    before = _written(real_db)
    argv = _argv(
        real_db, "never", "--symbols", "BTC/USDT,ETH/USDT", "--ray", "--workers", "2",
        model="driver_only_mlp",
    )  # fmt: skip
    try:
        assert main(argv) == 2
    finally:  # other tests list the registered families
        _FACTORIES.pop("driver_only_mlp", None)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(r"worker rank [01] of 2: ", err)
    assert "unknown model 'driver_only_mlp'" in err
    assert _written(real_db) == before
    assert not Path(f"{real_db}.ray").exists()


def test_unreachable_address_is_one_line_and_writes_nothing(
    real_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = _written(real_db)
    argv = _argv(real_db, "nowhere", "--symbols", "ETH/USDT", "--ray", f"127.0.0.1:{port}")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"--ray 127.0.0.1:{port}: no Ray cluster answers there" in err
    assert _written(real_db) == before
    assert not Path(f"{real_db}.ray").exists()

"""On a GPU (skipped where there is none, as in CI): torch families train there, as on the CPU.

Run on a lent GPU machine: the trainer's finiteness check once concatenated a model's weights
(on the GPU) with Adam's step counts (on the CPU) and so failed every step on CUDA.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from tests.integration.backtest.test_backtest import T0, M, _request, _seed

from ghostcandle.engine.trading.backtest import BacktestService
from ghostcandle.engine.training.step_worker import model_finite
from ghostcandle.models.device import use_device
from ghostcandle.models.inputs import prepare_stacked_inputs, training_batch
from ghostcandle.models.registry import create_model
from ghostcandle.models.torch_model import TorchModel
from ghostcandle.store.db import Database

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")


@pytest.fixture
def on_cuda() -> Iterator[torch.device]:
    device = use_device("cuda")
    try:
        yield device
    finally:
        use_device("cpu")


def _trained(name: str) -> TorchModel:
    m = create_model(name, windows={"1m": 16, "1h": 4}, seed=1)
    assert isinstance(m, TorchModel)
    rng = np.random.default_rng(1)
    raw = {tf: 100 + rng.random((8, n, 5)) for tf, n in m.windows.items()}
    inputs, _ = prepare_stacked_inputs(raw)
    targets = {tf: np.zeros((8, 5), np.float32) for tf in m.windows}
    m.train_step(training_batch(inputs, targets, [0] * 8))
    return m


@pytest.mark.parametrize("name", ["cnn", "transformer"])
def test_the_finiteness_check_reads_a_gpu_model_and_its_optimiser(
    on_cuda: torch.device, name: str
) -> None:
    m = _trained(name)
    assert next(m.net.parameters()).device.type == "cuda"
    devices = {
        v.device.type for s in m.optimizer.state.values() for v in s.values() if torch.is_tensor(v)
    }
    assert devices == {"cuda", "cpu"}  # Adam's step counts stay on the CPU
    assert model_finite(m)
    with torch.no_grad():
        next(m.net.parameters()).view(-1)[0] = float("nan")
    assert not model_finite(m)


def test_a_backtest_trains_every_step_on_the_gpu(on_cuda: torch.device, db: Database) -> None:
    _seed(db, gap=None)
    req = _request(end=T0 + 280 * M, train="every_candle", train_every=4)
    result = BacktestService(db).run(req)
    counts = dict(
        db.con.cursor()
        .execute(
            "SELECT status, count(*) FROM training_steps WHERE session_id = ? GROUP BY status",
            [result.session_id],
        )
        .fetchall()
    )
    assert set(counts) == {"ok"}, counts
    assert counts["ok"] >= (result.candles - 2) // 4 - 1

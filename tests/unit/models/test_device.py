"""``--device``: the CPU path trains and checkpoints on the CPU; CUDA is refused where absent."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ghostcandle.cli.main import main
from ghostcandle.domain.errors import UserInputError
from ghostcandle.models.device import current_device, resolve_device, use_device
from ghostcandle.models.inputs import prepare_stacked_inputs, training_batch
from ghostcandle.models.registry import create_model
from ghostcandle.models.torch_model import TorchModel

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


def test_cpu_and_auto_resolve_to_what_is_there() -> None:
    assert resolve_device(" CPU ") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@NO_CUDA
@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_cuda_is_refused_in_one_line_where_there_is_none(name: str) -> None:
    with pytest.raises(UserInputError, match=r"CUDA is not available.*use --device cpu"):
        resolve_device(name)


def test_an_unknown_device_is_refused() -> None:
    with pytest.raises(UserInputError, match="'tpu' is not a device: use cpu, cuda or auto"):
        resolve_device("tpu")


def test_a_model_built_on_the_cpu_trains_there_and_checkpoints_cpu_copies() -> None:
    assert use_device("cpu") == current_device() == torch.device("cpu")
    m = create_model("cnn", windows={"1m": 16, "1h": 4}, channels=4, hidden=8)
    assert isinstance(m, TorchModel)
    rng = torch.Generator().manual_seed(1)
    raw = {
        tf: 100 + torch.rand((8, n, 5), generator=rng).double().numpy()
        for tf, n in m.windows.items()
    }
    inputs, _ = prepare_stacked_inputs(raw)
    targets = {tf: torch.zeros((8, 5)).numpy() for tf in m.windows}
    m.train_step(training_batch(inputs, targets, [0] * 8))
    state = m.state_dict()
    weights = list(state["weights"].values())
    assert all(t.device.type == "cpu" for t in weights)
    assert all(p.device.type == "cpu" for p in m.net.parameters())
    weights[0].add_(1.0)  # the copy is independent of the model
    assert not torch.equal(weights[0], next(iter(m.net.state_dict().values())))


@NO_CUDA
@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--model", "cnn", "--symbol", "ETH/USDT", "--timeframes", "1m"],
        ["replay", "--symbol", "ETH/USDT", "--model", "cnn", "--from", "0", "--to", "1"],
        ["backtest", "--symbol", "ETH/USDT", "--timeframe", "1m", "--from", "0", "--to", "1"],
    ],
)
def test_the_commands_refuse_cuda_in_one_line_before_any_work(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "none.duckdb"
    assert main([*argv, "--db", str(db), "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "CUDA is not available" in err
    assert "--device cpu" in err
    assert not db.exists()
    assert current_device() == torch.device("cpu")

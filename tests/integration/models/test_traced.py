"""The traced forward of small batches: the eager forward's bits, with the caller's weights."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid

import numpy as np
import pytest
import torch
from torch import Tensor

from ghostcandle.models import traced
from ghostcandle.models.base import ModelInputs
from ghostcandle.models.dqn import DqnModel
from ghostcandle.models.dqn_net import held_one_hot
from ghostcandle.models.dqn_replay import position_index
from ghostcandle.models.registry import create_model, model_names
from ghostcandle.models.torch_model import Net, TorchModel

from .conftest import SMALL, make_batch


def _torch_families() -> list[str]:
    return [n for n in model_names() if isinstance(create_model(n, **SMALL), TorchModel)]


def _bits_equal(a: traced.Outputs, b: traced.Outputs) -> bool:
    return a[0].keys() == b[0].keys() and all(
        torch.equal(x.view(torch.int32), y.view(torch.int32))
        for x, y in [(a[1], b[1]), *((a[0][k], b[0][k]) for k in a[0])]
    )


@pytest.mark.parametrize("name", _torch_families())
def test_each_torch_family_runs_traced_with_the_eager_forwards_bits(name: str) -> None:
    model = create_model(name, seed=3, **SMALL)
    assert isinstance(model, TorchModel)
    inputs, _ = make_batch(model, seed=2)
    windows = model._tensors(inputs)
    with torch.inference_mode():
        eager = model.net(windows)
        fast = traced.forward(model.net, model.architecture, windows)
        again = traced.forward(model.net, model.architecture, windows)
    assert traced.traced(model.architecture) is True
    assert _bits_equal(eager, fast)
    assert _bits_equal(eager, again)


def test_the_trace_computes_with_each_callers_weights() -> None:
    """One trace per architecture serves every model of it: each call passes its own weights."""
    first = create_model("cnn", seed=4, **SMALL)
    assert isinstance(first, TorchModel)
    inputs, batch = make_batch(first, seed=5)
    trained = first.clone()
    assert isinstance(trained, TorchModel)
    trained.train_step(batch)  # the same architecture, other weights
    windows = first._tensors(inputs)
    with torch.inference_mode():
        eager = [m.net(windows) for m in (first, trained, first)]
        fast = [traced.forward(m.net, first.architecture, windows) for m in (first, trained, first)]
    assert not _bits_equal(eager[0], eager[1])  # the step changed what the net computes
    for e, f in zip(eager, fast, strict=True):
        assert _bits_equal(e, f)
    # predict goes through it: the trained model's figures are its own
    assert not (trained.predict(inputs).action_probs == first.predict(inputs).action_probs).all()


class _Branching(Net):
    """A net whose output depends on a branch on its data: a trace would freeze one branch."""

    def __init__(self) -> None:
        super().__init__()
        self.head = torch.nn.Linear(5, 3)

    def forward(self, windows: dict[str, Tensor]) -> tuple[dict[str, Tensor], Tensor]:
        x = windows["1m"][:, -1]
        y = self.head(x) if x.sum() > 0 else -self.head(x)
        return {"1m": torch.cat([y, y[:, :2]], dim=1)}, y


def test_a_net_that_branches_on_its_data_stays_eager() -> None:
    net, key = _Branching().eval(), ("branching", uuid.uuid4().hex)
    up = {"1m": torch.rand(2, 8, 5) + 0.1}
    down = {"1m": -up["1m"]}
    with torch.inference_mode():
        for windows in (up, down, up):
            assert _bits_equal(traced.forward(net, key, windows), net(windows))
    assert traced.traced(key) is False


class _Aliasing(Net):
    """A net holding one weight under two names, reading it under the one not listed first.

    ``named_parameters`` lists a shared weight once, under its first name (``alias``): a
    trace handed the weights by their listed names would keep ``head.weight`` from tracing.
    """

    def __init__(self) -> None:
        super().__init__()
        head = torch.nn.Linear(5, 3)
        self.alias = head.weight
        self.head = head

    def forward(self, windows: dict[str, Tensor]) -> tuple[dict[str, Tensor], Tensor]:
        y = self.head(windows["1m"][:, -1])
        return {"1m": torch.cat([y, y[:, :2]], dim=1)}, y


def test_a_net_whose_trace_would_not_read_the_weights_it_is_given_stays_eager() -> None:
    key = ("aliasing", uuid.uuid4().hex)
    windows = {"1m": torch.rand(2, 8, 5)}
    nets = [_Aliasing().eval(), _Aliasing().eval()]  # other weights each
    with torch.inference_mode():
        for net in nets:
            assert _bits_equal(traced.forward(net, key, windows), net(windows))
    assert traced.traced(key) is False


def test_threads_call_one_trace_at_once_each_with_its_weights() -> None:
    first = create_model("cnn", seed=13, **SMALL)
    second = create_model("cnn", seed=14, **SMALL)
    assert isinstance(first, TorchModel)
    assert isinstance(second, TorchModel)
    inputs, _ = make_batch(first, seed=15)
    windows = first._tensors(inputs)
    with torch.inference_mode():
        eager = [m.net(windows) for m in (first, second)]
    assert not _bits_equal(eager[0], eager[1])
    wrong: list[int] = []

    def run(i: int, model: TorchModel) -> None:
        with torch.inference_mode():
            for _ in range(200):
                if not _bits_equal(
                    traced.forward(model.net, model.architecture, windows), eager[i]
                ):
                    wrong.append(i)

    threads = [threading.Thread(target=run, args=(i, m)) for i, m in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert traced.traced(first.architecture) is True
    assert wrong == []


def test_large_batches_and_training_run_eager() -> None:
    model = create_model("cnn", seed=6, **SMALL)
    assert isinstance(model, TorchModel)
    inputs, _ = make_batch(model, seed=7)
    rows = traced.MAX_BATCH + 1
    windows = {k: t.repeat(rows, 1, 1)[:rows] for k, t in model._tensors(inputs).items()}
    key = ("large", uuid.uuid4().hex)
    with torch.inference_mode():
        assert _bits_equal(traced.forward(model.net, key, windows), model.net(windows))
        assert traced.traced(key) is None  # never traced
        small = {k: t[:2] for k, t in windows.items()}
        model.net.train()
        try:
            traced.forward(model.net, key, small)
        finally:
            model.net.eval()
        assert traced.traced(key) is None
        traced.forward(model.net, key, small)
    assert traced.traced(key) is True


def test_turned_off_every_forward_runs_eager() -> None:
    model = create_model("transformer", seed=8, **SMALL)
    assert isinstance(model, TorchModel)
    inputs, _ = make_batch(model, seed=9)
    before = traced.set_enabled(False)
    try:
        assert traced.enabled() is False
        with torch.inference_mode():
            windows = model._tensors(inputs)
            assert _bits_equal(
                traced.forward(model.net, model.architecture, windows), model.net(windows)
            )
        assert traced.traced(model.architecture) is None
    finally:
        traced.set_enabled(before)
    assert traced.enabled() is before


def test_the_environment_turns_it_off_for_the_process() -> None:
    code = (
        "from ghostcandle.models import traced\n"
        "from ghostcandle.models.registry import create_model\n"
        "from ghostcandle.models.inputs import prepare_inputs\n"
        "import numpy as np\n"
        "m = create_model('cnn', timeframes=['1m'], windows={'1m': 16})\n"
        "w = 100 + np.random.default_rng(0).random((16, 5))\n"
        "x = prepare_inputs([{'1m': w}], m.windows)[0]\n"
        "m.predict(x)\n"
        "print(traced.traced(m.architecture))\n"
    )
    seen = {}
    for value in ("0", "1"):
        env = {**os.environ, traced.ENV: value}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        seen[value] = out.stdout.strip()
    assert seen == {"0": "None", "1": "True"}


def _holding(inputs: ModelInputs, held: int) -> ModelInputs:
    return ModelInputs(windows=inputs.windows, extras={"position": np.full(3, float(held))})


def test_the_dqn_acts_traced_with_its_eager_bits_for_every_held_position() -> None:
    """The agent's acting forward (windows and the held position in) runs traced: the same
    candles and Q-values as the net's own forward, for flat, long and short, before and after
    a step, and a clone acts with its own weights."""
    model = create_model("dqn", seed=11, **SMALL)
    assert isinstance(model, DqnModel)
    inputs, batch = make_batch(model, seed=12, size=3)
    windows = model._tensors(inputs)
    trained = model.clone()
    assert isinstance(trained, DqnModel)
    assert trained.acting.net is trained.net
    assert trained.net is not model.net
    trained.train_step(batch)
    for agent in (model, trained, model):
        for held in (-1, 0, 1):
            position = torch.from_numpy(position_index(np.full(3, held, dtype=np.int64)))
            with torch.inference_mode():
                raw, scales, q = agent.net(windows, position)
                eager = ({tf: scales[tf].candle(r) for tf, r in raw.items()}, q)
                fast = traced.forward(
                    agent.acting, agent.architecture, windows, held_one_hot(position, q.dtype)
                )
            assert _bits_equal(eager, fast)
            out = agent.predict(_holding(inputs, held))  # predict goes through it
            assert (out.candles["1m"] == eager[0]["1m"].double().numpy()).all()
    assert traced.traced(model.architecture) is True
    probs = [model.predict(_holding(inputs, held)).action_probs for held in (-1, 0, 1)]
    assert not (probs[0] == probs[1]).all()
    assert not (probs[1] == probs[2]).all()

"""A net copied module by module: independent, equal in every bit, and trained as the original."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from ghostcandle.models.base import ModelInputs, TrainingBatch
from ghostcandle.models.inputs import normalise_targets, prepare_inputs, training_batch
from ghostcandle.models.module_copy import copy_module
from ghostcandle.models.registry import create_model
from ghostcandle.models.torch_model import TorchModel

FAMILIES = ["transformer", "cnn", "excursion_mlp"]
WINDOWS = {"1m": 40, "1h": 12}


def _batch(model: TorchModel, seed: int) -> tuple[ModelInputs, TrainingBatch]:
    rng = np.random.default_rng(seed)
    series = {tf: 100 + np.cumsum(rng.normal(0, 0.3, (80, 5)), axis=0) for tf in WINDOWS}
    for s in series.values():
        s[:, 4] = rng.uniform(1, 5, len(s))
    ends = [50, 60, 70]
    inputs, params = prepare_inputs([{tf: s[:e] for tf, s in series.items()} for e in ends],
                                    model.windows)  # fmt: skip
    targets = normalise_targets(
        [{tf: s[e] for tf, s in series.items()} for e in ends], params, model.timeframes
    )
    return inputs, training_batch(inputs, targets, np.array([0, 1, 2]))


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


@pytest.mark.parametrize("family", FAMILIES)
def test_the_copy_is_equal_independent_and_computes_the_same(family: str) -> None:
    model = create_model(family, timeframes=list(WINDOWS), windows=WINDOWS, seed=5)
    assert isinstance(model, TorchModel)
    net = model.net
    twin = copy_module(net)
    assert type(twin) is type(net)
    assert [n for n, _ in twin.named_modules()] == [n for n, _ in net.named_modules()]
    for (name, a), (_, b) in zip(net.state_dict().items(), twin.state_dict().items(), strict=True):
        assert _same_bits(a, b), name
        assert a.data_ptr() != b.data_ptr(), name  # its own storage
    for a, b in zip(net.parameters(), twin.parameters(), strict=True):
        assert isinstance(b, nn.Parameter)
        assert b.requires_grad == a.requires_grad
    assert twin.training == net.training
    inputs, _ = _batch(model, 1)
    x = model._tensors(inputs)
    with torch.inference_mode():
        (heads_a, logits_a), (heads_b, logits_b) = net(x), twin(x)
    assert _same_bits(logits_a, logits_b)
    assert all(_same_bits(heads_a[k], heads_b[k]) for k in heads_a)
    with torch.no_grad():
        next(twin.parameters()).add_(1.0)  # changing the copy leaves the original
    assert not _same_bits(next(net.parameters()), next(twin.parameters()))


@pytest.mark.parametrize("family", FAMILIES)
def test_a_clone_trains_exactly_as_its_original(family: str) -> None:
    model = create_model(family, timeframes=list(WINDOWS), windows=WINDOWS, seed=6)
    assert isinstance(model, TorchModel)
    _, batch = _batch(model, 2)
    model.train_step(batch)  # the optimiser holds state to carry over
    clone = model.clone()
    assert isinstance(clone, TorchModel)
    for step in range(2):
        _, b = _batch(model, 10 + step)
        assert model.train_step(b) == clone.train_step(b)
    for a, b in zip(model.net.state_dict().values(), clone.net.state_dict().values(), strict=True):
        assert _same_bits(a, b)
        assert a.data_ptr() != b.data_ptr()


class _Tied(nn.Module):
    """Two layers sharing one weight, one layer reached twice, and a plain setting list."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.b.weight = self.a.weight
        self.again = self.a
        self.order = ["a", "b"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + self.again(x)


def test_shared_weights_and_modules_stay_shared_in_the_copy() -> None:
    net = _Tied()
    twin = copy_module(net)
    assert twin.b.weight is twin.a.weight
    assert twin.a.weight is not net.a.weight
    assert twin.again is twin.a
    assert twin.order == net.order
    assert twin.order is not net.order
    x = torch.randn(3, 4)
    assert _same_bits(net(x), twin(x))


class _Cached(nn.Module):
    """A tensor outside the registries (a cached mask) and a forward hook."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.mask = torch.ones(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x) * self.mask


def test_a_tensor_or_a_hook_outside_the_registries_makes_a_deep_copy() -> None:
    net = _Cached()
    twin = copy_module(net)
    assert twin.mask is not net.mask  # copied, not shared
    assert _same_bits(twin.mask, net.mask)
    hooked = nn.Linear(4, 4)
    calls: list[int] = []
    hooked.register_forward_hook(lambda *_: calls.append(1))
    copied = copy_module(hooked)
    assert copied.weight is not hooked.weight
    copied(torch.randn(2, 4))
    assert calls == [1]  # deep-copied with its hook, as copy.deepcopy does
    reference = copy.deepcopy(hooked)
    assert _same_bits(reference.weight, copied.weight)


class _Marked(nn.Parameter):
    """A parameter of its own class (as some libraries mark theirs)."""


def test_a_parameter_of_a_subclass_keeps_its_class_through_a_deep_copy() -> None:
    net = nn.Linear(4, 3)
    net.weight = _Marked(net.weight.detach().clone())
    copied = copy_module(net)
    assert type(copied.weight) is _Marked
    assert copied.weight is not net.weight
    assert _same_bits(copied.weight, net.weight)

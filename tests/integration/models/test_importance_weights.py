"""Importance weights reach the loss: a sample weighted 0 trains exactly like no sample at all.

Profit-weighted replay hands each batch its importance weights (``TrainingBatch.weights``); a
family that ignored them would train the same on a batch whatever its weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
import torch

from ghostcandle.models.base import ModelInputs, TrainingBatch
from ghostcandle.models.registry import create_model
from ghostcandle.models.torch_model import TorchModel

from .conftest import SMALL

LEARNING = ["cnn", "transformer", "excursion_mlp"]


def _without(batch: TrainingBatch, drop: int) -> TrainingBatch:
    keep = np.array([i for i in range(batch.batch_size) if i != drop])
    return TrainingBatch(
        inputs=ModelInputs({tf: w[keep] for tf, w in batch.inputs.windows.items()}),
        targets={tf: t[keep] for tf, t in batch.targets.items()},
        actions=batch.actions[keep],
    )


def _gradients(model: TorchModel, batch: TrainingBatch) -> dict[str, torch.Tensor]:
    """Return the loss gradient of ``batch`` (what ``train_step`` then hands the optimiser)."""
    m = model.clone()
    assert isinstance(m, TorchModel)
    weights = None if batch.weights is None else torch.from_numpy(batch.weights)
    targets = {tf: torch.from_numpy(t.astype(np.float32)) for tf, t in batch.targets.items()}
    parts = m._losses(m._tensors(batch.inputs), targets, torch.from_numpy(batch.actions), weights)
    parts["loss"].backward()
    return {n: p.grad.clone() for n, p in m.net.named_parameters() if p.grad is not None}


def _weights_after(model: TorchModel, batch: TrainingBatch) -> dict[str, torch.Tensor]:
    m = model.clone()
    m.train_step(batch)
    return dict(m.state_dict()["weights"])


@pytest.mark.parametrize("family", LEARNING)
def test_zero_weight_equals_leaving_the_sample_out(
    family: str, batch_for: Callable[..., tuple[ModelInputs, TrainingBatch]]
) -> None:
    model = create_model(family, seed=3, **SMALL)
    assert isinstance(model, TorchModel)
    _, batch = batch_for(model, seed=5, size=6)
    weights = np.array([1.0, 0.5, 0.0, 2.0, 1.0, 1.0], dtype=np.float32)
    weighted = _gradients(model, replace(batch, weights=weights))
    dropped = _gradients(model, replace(_without(batch, 2), weights=np.delete(weights, 2)))
    assert weighted.keys() == dropped.keys()
    for k in weighted:
        assert torch.allclose(weighted[k], dropped[k], rtol=1e-4, atol=1e-7), k
    # and train_step passes them on: the same batch unweighted trains to other weights
    plain = _weights_after(model, batch)
    after = _weights_after(model, replace(batch, weights=weights))
    assert any(not torch.equal(plain[k], after[k]) for k in plain)

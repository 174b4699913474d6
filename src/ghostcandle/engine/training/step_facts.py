"""What a step record says about the model: its state hash and the facts of the step just run.

``state_hash`` is a BLAKE2b digest (16 bytes, hex) of the model's full training state: the step
count, every weight and buffer, and the optimiser's state and settings, in a fixed order, the
tensors' raw bytes with their names, dtypes and shapes. Equal hashes mean the next step starts
from the same state bit for bit (the optimiser's moments matter as much as the weights). For a
torch model it reads the live tensors in place (no copy: ~0.3 ms for the families here);
another model is hashed through its ``state_dict()``.

``step_facts`` reads, right after a step, the gradient norm per parameter group (the net's
top-level modules; the gradients as applied, i.e. after clipping), the learning rate, the seed
the step drew from, and the torch settings it ran under (intra-op threads, deterministic
algorithms), which a replay restores before recomputing it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ghostcandle.models.base import Model

ROOT_GROUP = "(root)"


def state_hash(model: Model) -> str:
    """Return the hash of ``model``'s full training state (see the module doc)."""
    h = hashlib.blake2b(digest_size=16)
    net, opt = getattr(model, "net", None), getattr(model, "optimizer", None)
    if isinstance(net, torch.nn.Module) and isinstance(opt, torch.optim.Optimizer):
        _feed(h, {"step": model.step, "weights": net.state_dict(), "optimizer": opt.state_dict()})
    else:
        _feed(h, model.state_dict())
    return h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    """Feed ``obj`` to the hash in a fixed order: mappings by sorted key, tensors as bytes."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        if t.numel():
            h.update(np.ascontiguousarray(t.cpu().numpy()).view(np.uint8))
    elif isinstance(obj, np.ndarray):
        h.update(f"A{obj.dtype}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).view(np.uint8))
    elif isinstance(obj, Mapping):
        h.update(b"{")
        for k in sorted(obj, key=str):
            h.update(json.dumps(str(k)).encode())
            _feed(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, list | tuple):
        h.update(b"[")
        for v in obj:
            _feed(h, v)
        h.update(b"]")
    else:
        h.update(repr(obj).encode())


@dataclass(frozen=True)
class StepFacts:
    """The facts of one step read from the model right after it."""

    grad_norms: Mapping[str, float]
    learning_rate: float | None
    seed: int | None
    torch_threads: int
    deterministic: bool


def step_facts(model: Model, seed: int | None) -> StepFacts:
    """Return the gradient norms per group, learning rate and torch settings after a step.

    ``seed``: the seed the step drew from (read before it ran: it moves with the step).
    """
    return StepFacts(
        grad_norms=grad_norms(model),
        learning_rate=learning_rate(model),
        seed=seed,
        torch_threads=torch.get_num_threads(),
        deterministic=torch.are_deterministic_algorithms_enabled(),
    )


def step_seed(model: Model) -> int | None:
    """Return the seed the model's next step draws from, if it says."""
    seed = getattr(model, "step_seed", None)
    return int(seed) if isinstance(seed, int) else None


def learning_rate(model: Model) -> float | None:
    """Return the learning rate of the model's first optimiser group, if it has one."""
    opt = getattr(model, "optimizer", None)
    if isinstance(opt, torch.optim.Optimizer) and opt.param_groups:
        return float(opt.param_groups[0]["lr"])
    return None


def groups(model: Model) -> dict[str, list[torch.nn.Parameter]]:
    """Return the model's parameters by group: the net's top-level modules (and its own)."""
    net = getattr(model, "net", None)
    if not isinstance(net, torch.nn.Module):
        return {}
    out: dict[str, list[torch.nn.Parameter]] = {}
    for name, p in net.named_parameters():
        head, _, rest = name.partition(".")
        out.setdefault(head if rest else ROOT_GROUP, []).append(p)
    return out


def grad_norms(model: Model) -> dict[str, float]:
    """Return the L2 norm of the gradients per parameter group (groups without one left out)."""
    out: dict[str, float] = {}
    with torch.no_grad():
        for name, params in groups(model).items():
            grads = [p.grad.detach().float() for p in params if p.grad is not None]
            if grads:
                total = torch.sqrt(sum((g * g).sum() for g in grads))  # type: ignore[arg-type]
                value = float(total)
                out[name] = value if math.isfinite(value) else float("nan")
    return out


def gradients(model: Model) -> dict[str, torch.Tensor]:
    """Return a copy of every parameter's gradient by name (what ``--store-gradients`` saves)."""
    net = getattr(model, "net", None)
    if not isinstance(net, torch.nn.Module):
        return {}
    return {n: p.grad.detach().clone() for n, p in net.named_parameters() if p.grad is not None}

"""A net's independent copy, made module by module instead of by ``copy.deepcopy``.

The trainer publishes a copy of the model after every good step (``TorchModel.clone``): the
copy predicts while the original trains on. ``copy.deepcopy`` of a net walks every attribute of
every module generically (~3-4 ms for the default transformer's 36 modules, in Python, holding
the interpreter a live tick needs). A module's state is its parameters, buffers and submodules
(the registered ones); the rest of its attributes are settings fixed at construction. So each
module is copied as a new object of its class whose attribute dict is a copy of the original's,
with its parameters and buffers cloned, its submodules copied the same way, and its dicts (the
hooks' and the registries') copied one level deep.

That holds only where no tensor or module sits in an attribute outside those registries (a
cached mask, a list of layers, a weight tied to another module by a plain reference): there the
copy would share it. ``copy_module`` looks for any such value first and deep-copies the net
when it finds one, so the copy is always independent.
"""

from __future__ import annotations

import copy
from types import FunctionType
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

M = TypeVar("M", bound=nn.Module)

_REGISTRIES = ("_parameters", "_buffers", "_modules")


def copy_module(net: M) -> M:
    """Return an independent copy of ``net``: equal weights in their own storage (see above)."""
    if not _plain(net):
        return copy.deepcopy(net)
    tensors: dict[int, Tensor] = {}
    modules: dict[int, nn.Module] = {}
    with torch.no_grad():
        return _copy(net, tensors, modules)


def _copy(m: M, tensors: dict[int, Tensor], modules: dict[int, nn.Module]) -> M:
    done = modules.get(id(m))
    if done is not None:  # a submodule reached twice stays one module in the copy
        return done  # type: ignore[return-value]
    new = m.__class__.__new__(m.__class__)
    modules[id(m)] = new
    state = {k: _shallow(v) for k, v in m.__dict__.items()}
    state["_parameters"] = {k: _tensor(p, tensors) for k, p in m._parameters.items()}
    state["_buffers"] = {k: _tensor(b, tensors) for k, b in m._buffers.items()}
    state["_modules"] = {
        k: None if c is None else _copy(c, tensors, modules) for k, c in m._modules.items()
    }
    new.__dict__.update(state)
    return new


def _shallow(v: object) -> object:
    """Return a container's copy one level deep (its items are plain values), else ``v``."""
    if isinstance(v, dict):
        return type(v)(v)
    if isinstance(v, list | set):
        return type(v)(v)
    return v


def _tensor(t: Tensor | None, tensors: dict[int, Tensor]) -> Any:
    """Return ``t``'s copy (one per tensor: a weight shared by two modules stays shared)."""
    if t is None:
        return None
    done = tensors.get(id(t))
    if done is None:
        data = t.detach().clone()
        done = nn.Parameter(data, t.requires_grad) if isinstance(t, nn.Parameter) else data
        tensors[id(t)] = done
    return done


def _plain(net: nn.Module) -> bool:
    """Tell whether ``net``'s modules hold nothing but their registries and plain settings.

    Plain: numbers, strings, None, functions, and containers of them. A tensor, a module or
    anything else (a bound method, a hook) outside the registries, or a parameter or buffer of
    a subclass, makes the copy a deep one.
    """
    for m in net.modules():
        if any(type(p) is not nn.Parameter for p in m._parameters.values() if p is not None):
            return False  # a parameter of a subclass: its own copy rules
        if any(type(b) is not Tensor for b in m._buffers.values() if b is not None):
            return False
        for k, v in m.__dict__.items():
            if type(v) in _PLAIN or k in _REGISTRIES:
                continue
            if k.endswith("hooks"):  # the hooks' registries: none may be set
                if v:
                    return False
            elif not _plain_value(v):
                return False
    return True


#: the types of a plain setting (a module-level function: an activation, not a bound method)
_PLAIN = frozenset({bool, int, float, str, type(None), torch.dtype, torch.device, FunctionType})


def _plain_value(v: object) -> bool:
    if type(v) in _PLAIN:
        return True
    if isinstance(v, dict):
        return all(_plain_value(k) and _plain_value(x) for k, x in v.items())
    if isinstance(v, list | tuple | set | frozenset):
        return all(_plain_value(x) for x in v)
    return False

"""A net's forward for small batches on the CPU, run as one TorchScript trace.

A loop tick predicts one window at a time, and a small net's eager forward there costs more in
Python (module calls, one interpreter round trip per operator, the GIL taken back at each) than
in its kernels: 0.6 against 1.0 ms for the default transformer, 1.0 against 1.6 for the CNN on a
2-core machine. A trace runs the same operators in one call that releases the GIL, so training
threads no longer delay the forward between its operators.

One trace per architecture (the family's config, its windows and the input shapes), kept by
the process, not one per model: a published snapshot is a new model every training step, and a
trace takes ~50 ms. Its weights are a template's, and every call first copies the calling net's
weights into it (one ``_foreach_copy_``, ~0.03 ms), under the trace's lock: a trace computes
with the caller's weights as they are (the optimiser and ``load_state_dict`` change them in
place, which is how every net here changes).

A trace is kept only if it gives the eager forward's outputs bit for bit, on the inputs it was
traced with, on their negation and on random ones of the same shapes (a branch on the data
would show); otherwise that architecture stays eager. Larger batches (a backtest's) stay eager:
there the kernels dominate and a trace gains nothing. ``torch.jit.trace`` is deprecated in
favour of ``torch.compile``/``torch.export``, which need a C++ toolchain and seconds of
compilation per shape (``compile``) or run slower than eager here (``export``'s module); where
tracing is unavailable or fails, the eager forward runs. ``GHOSTCANDLE_TRACED_INFERENCE=0`` in
the environment runs every forward eager (``set_enabled`` within a process).
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)

#: the largest batch run traced (measured: traced ahead up to 32 windows, behind at 256)
MAX_BATCH = 32
#: architectures kept traced at once (least recently used dropped)
MAX_TRACES = 32

#: the environment setting that turns tracing off (``0``)
ENV = "GHOSTCANDLE_TRACED_INFERENCE"

Outputs = tuple[dict[str, Tensor], Tensor]


@dataclass
class _Trace:
    module: torch.jit.ScriptModule
    weights: list[Tensor]
    lock: threading.Lock


_traces: OrderedDict[Hashable, _Trace | None] = OrderedDict()
_traces_lock = threading.Lock()
_enabled = os.environ.get(ENV, "1").strip() != "0"
#: each net's weight tensors, listed once (the optimiser and ``load_state_dict`` update them
#: in place; a module walk per call would cost ~0.06 ms)
_net_weights: WeakKeyDictionary[nn.Module, list[Tensor]] = WeakKeyDictionary()


def forward(net: nn.Module, key: Hashable, windows: dict[str, Tensor], *extras: Tensor) -> Outputs:
    """Return ``net(windows, *extras)``: traced (the same bits) where it applies, else eager.

    ``key`` names the architecture: nets of one key must compute the same function of their
    weights (the family, its config and windows); the input shapes are added here.
    ``extras`` are further float inputs (the DQN's held position, one-hot), probed like the
    windows. Call it inside ``torch.inference_mode()``.
    """
    batch = next(iter(windows.values())).shape[0]
    on_cpu = all(t.device.type == "cpu" for t in (*windows.values(), *extras))
    if not _enabled or net.training or batch > MAX_BATCH or not on_cpu:
        return net(windows, *extras)  # type: ignore[no-any-return]
    shapes = tuple((k, tuple(t.shape), t.dtype) for k, t in windows.items())
    full = (key, shapes, tuple((tuple(t.shape), t.dtype) for t in extras))
    trace = _trace_for(net, full, windows, extras)
    if trace is None:
        return net(windows, *extras)  # type: ignore[no-any-return]
    weights = _net_weights.get(net)
    if weights is None:
        weights = _net_weights.setdefault(net, _weights(net))
    with trace.lock:
        torch._foreach_copy_(trace.weights, weights)
        return trace.module(windows, *extras)  # type: ignore[no-any-return]


def enabled() -> bool:
    """Tell whether small batches run traced (the process's setting)."""
    return _enabled


def set_enabled(on: bool) -> bool:
    """Run small batches traced (True) or every forward eager; return the previous setting."""
    global _enabled
    before, _enabled = _enabled, on
    return before


def traced(key: Hashable) -> bool | None:
    """Tell whether an architecture runs traced (None: not met yet); for tests and reports."""
    with _traces_lock:
        hits = [t for k, t in _traces.items() if isinstance(k, tuple) and k[0] == key]
    return None if not hits else all(t is not None for t in hits)


def _trace_for(
    net: nn.Module, key: Hashable, windows: dict[str, Tensor], extras: tuple[Tensor, ...]
) -> _Trace | None:
    with _traces_lock:
        if key in _traces:
            _traces.move_to_end(key)
            return _traces[key]
    made = _make(net, windows, extras)
    with _traces_lock:
        trace = _traces.setdefault(key, made)
        while len(_traces) > MAX_TRACES:
            _traces.popitem(last=False)
        return trace


def _weights(net: nn.Module) -> list[Tensor]:
    return [*net.parameters(), *net.buffers()]


_BITS = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bits(t: Tensor) -> Tensor:
    return t.contiguous().view(_BITS[t.element_size()]) if t.is_floating_point() else t


def _make(
    net: nn.Module, windows: dict[str, Tensor], extras: tuple[Tensor, ...] = ()
) -> _Trace | None:
    """Trace a copy of ``net``; return it if it matches the eager forward, else None."""
    template = copy.deepcopy(net)
    try:
        with warnings.catch_warnings():
            # deprecated, not removed; a shape read as a constant is what the key fixes, and
            # whatever else the tracer warns of, the comparison below catches
            warnings.simplefilter("ignore")
            module = torch.jit.trace(  # type: ignore[no-untyped-call]
                template, (windows, *extras), strict=False, check_trace=False
            )
    except Exception as exc:  # an operator tracing does not support: stay eager
        log.info("%s stays eager: %s: %s", type(net).__name__, type(exc).__name__, exc)
        return None
    trace = _Trace(module, _weights(module), threading.Lock())
    if [w.shape for w in trace.weights] != [w.shape for w in _weights(net)]:
        log.info("%s stays eager: its trace holds other weights", type(net).__name__)
        return None
    try:
        generator = torch.Generator().manual_seed(0)

        def drawn(t: Tensor) -> Tensor:
            return 3 * torch.randn(t.shape, generator=generator, dtype=t.dtype)

        probes = [
            (windows, extras),
            ({k: -t for k, t in windows.items()}, tuple(-t for t in extras)),
            ({k: drawn(t) for k, t in windows.items()}, tuple(drawn(t) for t in extras)),
        ]
        for probe, more in probes:
            torch._foreach_copy_(trace.weights, _weights(net))
            if not _same(net(probe, *more), module(probe, *more)):
                log.info("%s stays eager: its trace differs from its forward", type(net).__name__)
                return None
    except Exception as exc:  # a probe the trace cannot run: stay eager
        log.info("%s stays eager: %s: %s", type(net).__name__, type(exc).__name__, exc)
        return None
    return trace


def _same(a: Outputs, b: Outputs) -> bool:
    """Tell whether two forwards' outputs are equal bit for bit."""
    (heads_a, logits_a), (heads_b, logits_b) = a, b
    if heads_a.keys() != heads_b.keys():
        return False
    pairs = [(logits_a, logits_b)] + [(heads_a[k], heads_b[k]) for k in heads_a]
    return all(
        x.dtype == y.dtype and x.shape == y.shape and torch.equal(_bits(x), _bits(y))
        for x, y in pairs
    )

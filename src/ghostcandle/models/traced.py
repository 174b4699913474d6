"""A net's forward for small batches on the CPU, run as one TorchScript trace.

A loop tick predicts one window at a time, and a small net's eager forward there costs more in
Python (module calls, one interpreter round trip per operator, the GIL taken back at each) than
in its kernels: 0.6 against 1.0 ms for the default transformer, 1.0 against 1.6 for the CNN on a
2-core machine. A trace runs the same operators in one call that releases the GIL, so training
threads no longer delay the forward between its operators.

One trace per architecture (the family's config, its windows and the input shapes), kept by
the process, not one per model: a published snapshot is a new model every training step, and a
trace takes ~50 ms. The weights are the trace's inputs, not its attributes: it is traced from a
template whose weights are swapped for the input tensors while tracing, and every call passes
the calling net's weights as they are (the optimiser and ``load_state_dict`` change them in
place, which is how every net here changes). Nothing is copied and nothing held between calls,
so threads call one trace at once. (Before 2026-12-07 each call copied the net's weights into
the template's under a lock first: 0.02-0.04 ms more a forward, the weights read twice.)

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


class _WeightsIn(nn.Module):
    """``net``'s forward taking its weights (``_weights`` order) as its first input."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        named = [*net.named_parameters(), *net.named_buffers()]
        #: where each weight lives: its module's parameter or buffer table, and its name there
        self._slots = [_slot(net, name) for name, _ in named]

    def forward(
        self, weights: list[Tensor], windows: dict[str, Tensor], *extras: Tensor
    ) -> Outputs:
        """Run ``net`` with ``weights`` in its weights' places (put back after)."""
        held = [table[leaf] for table, leaf in self._slots]
        try:
            for (table, leaf), w in zip(self._slots, weights, strict=True):
                table[leaf] = w
            return self.net(windows, *extras)  # type: ignore[no-any-return]
        finally:
            for (table, leaf), before in zip(self._slots, held, strict=True):
                table[leaf] = before


def _slot(net: nn.Module, name: str) -> tuple[dict[str, Tensor | None], str]:
    """Return the table (``_parameters`` or ``_buffers``) holding weight ``name``, and its key."""
    owner, _, leaf = name.rpartition(".")
    module = net.get_submodule(owner) if owner else net
    table = module._parameters if leaf in module._parameters else module._buffers
    return table, leaf  # type: ignore[return-value]


#: each architecture's trace of ``_WeightsIn`` (called with the weights in ``_weights`` order,
#: then the inputs), or None where it stays eager
_traces: OrderedDict[Hashable, torch.jit.ScriptModule | None] = OrderedDict()
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
    return trace(weights, windows, *extras)  # type: ignore[no-any-return]


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
) -> torch.jit.ScriptModule | None:
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
) -> torch.jit.ScriptModule | None:
    """Trace a copy of ``net``; return it if it matches the eager forward, else None."""
    weights = _weights(net)
    try:
        template = _WeightsIn(copy.deepcopy(net))
        with warnings.catch_warnings():
            # deprecated, not removed; a shape read as a constant is what the key fixes, and
            # whatever else the tracer warns of, the comparison below catches
            warnings.simplefilter("ignore")
            module = torch.jit.trace(  # type: ignore[no-untyped-call]
                template, (weights, windows, *extras), strict=False, check_trace=False
            )
    except Exception as exc:  # an operator tracing does not support: stay eager
        log.info("%s stays eager: %s: %s", type(net).__name__, type(exc).__name__, exc)
        return None
    try:
        generator = torch.Generator().manual_seed(0)

        def drawn(t: Tensor) -> Tensor:
            if not t.is_floating_point():
                return t
            return 3 * torch.randn(t.shape, generator=generator, dtype=t.dtype)

        # a net of the same architecture with other weights: the trace must read the weights
        # it is given, none it kept from tracing (a weight read through another name would be)
        other = copy.deepcopy(net)
        with torch.no_grad():
            torch._foreach_copy_(_weights(other), [drawn(w) for w in weights])
        probes = [
            (net, windows, extras),
            (net, {k: -t for k, t in windows.items()}, tuple(-t for t in extras)),
            (net, {k: drawn(t) for k, t in windows.items()}, tuple(drawn(t) for t in extras)),
            (other, windows, extras),
        ]
        for caller, probe, more in probes:
            if not _same(caller(probe, *more), module(_weights(caller), probe, *more)):
                log.info("%s stays eager: its trace differs from its forward", type(net).__name__)
                return None
    except Exception as exc:  # a probe the trace cannot run: stay eager
        log.info("%s stays eager: %s: %s", type(net).__name__, type(exc).__name__, exc)
        return None
    return module  # type: ignore[no-any-return]


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

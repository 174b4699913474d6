"""One training step on a worker thread, waited on with a timeout, and judged before use.

A step that raises is ``failed``; one that runs past the timeout is ``timeout`` (its worker is
abandoned with the copy it was changing: Python cannot kill a thread, so a new worker takes
over and the copy is never used again); one whose losses or resulting weights and optimiser
state hold NaN/inf is ``non_finite``. Only an ``ok`` step may be published.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ghostcandle.messaging.foreground import lower_priority
from ghostcandle.models.base import Model, TrainingBatch

#: Report statuses: the step was applied and published, or why it was not.
OK, FAILED, TIMEOUT, NON_FINITE, DROPPED, SKIPPED = (
    "ok",
    "failed",
    "timeout",
    "non_finite",
    "dropped",
    "skipped",
)


@dataclass(frozen=True)
class StepOutcome:
    """What one step came to: its status, losses, wall time and the error, if any."""

    status: str
    losses: Mapping[str, float] = field(default_factory=dict)
    duration_ms: float = 0.0
    error: str = ""


class StepRunner:
    """Run steps on a worker thread with a timeout and judge each (see the module doc)."""

    def __init__(self, name: str, timeout_s: float, *, lower_priority: bool = True) -> None:
        self.name, self.timeout_s, self.lower_priority = name, timeout_s, lower_priority
        #: workers abandoned with a step that ran past the timeout
        self.abandoned = 0
        self._worker = _StepWorker(name, lower_priority)

    def run(self, model: Model, batch: TrainingBatch) -> StepOutcome:
        """Run ``model.train_step(batch)`` (it changes ``model``); return how it went.

        Only after ``ok`` may ``model`` be used again: after anything else it is garbage.
        """
        t0 = time.perf_counter()
        finished, box = self._worker.run(model, batch, self.timeout_s)
        ms = (time.perf_counter() - t0) * 1000.0
        if not finished:
            self.abandoned += 1
            self._worker.abandon()
            self._worker = _StepWorker(self.name, self.lower_priority)
            error = f"step ran past {self.timeout_s}s and was abandoned"
            return StepOutcome(TIMEOUT, duration_ms=ms, error=error)
        if "error" in box:
            exc = box["error"]
            return StepOutcome(FAILED, duration_ms=ms, error=f"{type(exc).__name__}: {exc}")
        losses = {str(k): float(v) for k, v in box["losses"].items()}
        if not all(math.isfinite(v) for v in losses.values()) or not model_finite(model):
            error = "step produced NaN/inf losses or weights"
            return StepOutcome(NON_FINITE, losses, ms, error)
        return StepOutcome(OK, losses, ms)

    def close(self, timeout_s: float = 2.0) -> None:
        """Let the worker thread exit after its current step (if any), and wait for it to end
        (``timeout_s`` at most): a process that exits right after a trainer stops must not tear
        torch down while the thread that ran its steps is still ending."""
        self._worker.abandon()
        self._worker.join(timeout_s)


class _StepWorker:
    """One thread that runs training steps, so that a step can be waited on with a timeout."""

    def __init__(self, name: str, lower_priority: bool = True) -> None:
        self._lower = lower_priority
        self._jobs: queue.SimpleQueue[
            tuple[Model, TrainingBatch, dict[str, Any], threading.Event] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=f"train-step-{name}", daemon=True)
        self._thread.start()

    def run(
        self, model: Model, batch: TrainingBatch, timeout_s: float
    ) -> tuple[bool, dict[str, Any]]:
        """Run ``model.train_step(batch)``; return whether it finished in time and its result."""
        box: dict[str, Any] = {}
        done = threading.Event()
        self._jobs.put((model, batch, box, done))
        return done.wait(timeout_s), box

    def abandon(self) -> None:
        """Let the thread exit after its current step (if any)."""
        self._jobs.put(None)

    def join(self, timeout_s: float) -> None:
        """Wait for the thread to end (``timeout_s`` at most)."""
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        if self._lower:
            lower_priority()
        while True:
            job = self._jobs.get()
            if job is None:
                return
            model, batch, box, done = job
            try:
                box["losses"] = model.train_step(batch)
            except BaseException as exc:  # the model's failure is reported, not propagated
                box["error"] = exc
            finally:
                done.set()


def model_finite(model: Model) -> bool:
    """Tell whether a model's weights and optimiser state are all finite.

    A torch model's live tensors (``net`` and ``optimizer``) are checked in place, in one pass
    over their concatenation per device; ``state_dict()`` would copy them all first (the copy
    cost more than the training step). A model on a GPU has tensors on two devices: its weights
    and Adam's moments there, Adam's ``step`` counts on the CPU. Any other model is checked
    through its ``state_dict()``.
    """
    net, opt = getattr(model, "net", None), getattr(model, "optimizer", None)
    if not isinstance(net, torch.nn.Module) or not isinstance(opt, torch.optim.Optimizer):
        return state_finite(model.state_dict())
    tensors = [t for t in (*net.parameters(), *net.buffers()) if t.is_floating_point()]
    for state in opt.state.values():
        tensors.extend(
            v for v in state.values() if isinstance(v, torch.Tensor) and v.is_floating_point()
        )
    by_device: dict[torch.device, list[torch.Tensor]] = {}
    for t in tensors:
        by_device.setdefault(t.device, []).append(t)
    with torch.no_grad():
        return all(
            bool(torch.isfinite(torch.cat([t.detach().reshape(-1).float() for t in group])).all())
            for group in by_device.values()
        )


def state_finite(obj: Any) -> bool:
    """Tell whether every floating tensor and float inside a state is finite."""
    if isinstance(obj, torch.Tensor):
        return not obj.is_floating_point() or bool(torch.isfinite(obj).all())
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, Mapping):
        return all(state_finite(v) for v in obj.values())
    if isinstance(obj, list | tuple):
        return all(state_finite(v) for v in obj)
    return True

"""Run labelled tasks on Ray and gather their results, or fail with the first task's error.

Each task is labelled with what it covers (``ETH/USDT fold 2``), so a task that raises fails the
whole run with its own error and that label; the tasks still running are cancelled, and the
caller, which writes only after every result is in, writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ghostcandle.domain.errors import GhostcandleError, OperationalError

T = TypeVar("T")


class TaskFailedError(OperationalError):
    """A distributed task raised something other than a ghostcandle error."""


@dataclass(frozen=True)
class Task(Generic[T]):
    """One unit of work: a label, a module-level function and its (picklable) arguments."""

    label: str
    fn: Callable[..., T]
    args: tuple[Any, ...]


def run_tasks(
    tasks: Sequence[Task[T]], *, on_done: Callable[[Task[T]], None] | None = None
) -> list[T]:
    """Run every task on the connected Ray (one CPU each); return results in task order."""
    import ray

    refs = [ray.remote(t.fn).options(num_cpus=1, max_retries=0).remote(*t.args) for t in tasks]
    index = {ref: i for i, ref in enumerate(refs)}
    results: dict[int, T] = {}
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        i = index[done[0]]
        try:
            results[i] = ray.get(done[0])
        except ray.exceptions.RayError as exc:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise task_error(tasks[i].label, exc) from None
        if on_done is not None:
            on_done(tasks[i])
    return [results[i] for i in range(len(tasks))]


def task_error(label: str, exc: BaseException) -> GhostcandleError:
    """Return the error a failed task stands for: its own kind and message, with its label."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, GhostcandleError):
        try:
            return type(cause)(f"{label}: {cause}")
        except TypeError:  # a subclass built from other arguments keeps the base kind
            return TaskFailedError(f"{label}: {cause}")
    what = cause if isinstance(cause, BaseException) else exc
    first = (str(what).splitlines() or [""])[0]
    return TaskFailedError(f"{label}: task failed: {type(what).__name__}: {first}")

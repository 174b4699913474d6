"""Progress bars for the long commands: drawn by Rich on a terminal, never otherwise.

A bar is drawn on stderr only when the output is a person's terminal: never with ``--json``
(stdout then carries one JSON object and nothing else), never when stdout is piped or
redirected, never when stderr is not a terminal. Disabled, the bar's methods do nothing, so a
command calls them the same way in every case. While a bar is drawn, log lines are printed
above it instead of through it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def wants_progress(as_json: bool, stdout: TextIO | None = None) -> bool:
    """Return whether a command should draw progress: not with ``--json``, only on a terminal."""
    out = sys.stdout if stdout is None else stdout
    return not as_json and out.isatty()


class Bar:
    """One task's bar; every method is a no-op when nothing is drawn."""

    def __init__(self, progress: Progress | None, task: TaskID | None) -> None:
        self._progress = progress
        self._task = task

    @property
    def drawn(self) -> bool:
        """Return whether this bar is drawn."""
        return self._progress is not None

    def update(self, done: float, total: float | None = None, *, detail: str = "") -> None:
        """Show ``done`` (out of ``total`` when given) and a short ``detail`` text."""
        if self._progress is None or self._task is None:
            return
        if total is not None:
            self._progress.update(self._task, total=total)
        self._progress.update(self._task, completed=done, detail=detail)

    def __call__(self, done: int, total: int) -> None:
        """Take a ``progress(done, total)`` callback of an engine service."""
        self.update(done, total)


@contextmanager
def progress_bar(
    description: str,
    *,
    enabled: bool,
    total: float | None = None,
    counts: bool = True,
    console: Console | None = None,
) -> Iterator[Bar]:
    """Yield a ``Bar`` for one long operation, drawn while the block runs if ``enabled``.

    ``total`` None draws a pulsing bar until one is given; ``counts`` shows ``done/total``
    (whole units such as candles or epochs) instead of a percentage. ``console`` defaults to
    stderr; the bar is drawn only if that console is a terminal.
    """
    con = console if console is not None else Console(stderr=True)
    if not enabled or not con.is_terminal:
        yield Bar(None, None)
        return
    columns: list[ProgressColumn] = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if counts else TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[detail]}"),
    ]
    stderr = sys.stderr
    with Progress(*columns, console=con) as progress, _logs_above_bar(stderr):
        task = progress.add_task(description, total=total, detail="")
        try:
            yield Bar(progress, task)
        except BaseException:
            # a failed command says why in one line: no half-filled bar above it
            progress.remove_task(task)
            raise


@contextmanager
def _logs_above_bar(stderr: TextIO) -> Iterator[None]:
    # logging's handlers hold the stream they were given; the bar has replaced sys.stderr with
    # a proxy that prints above it, so point the handlers writing to stderr there meanwhile
    moved = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is stderr and sys.stderr is not stderr
    ]
    for h in moved:
        h.setStream(sys.stderr)
    try:
        yield
    finally:
        for h in moved:
            h.setStream(stderr)

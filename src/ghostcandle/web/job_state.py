"""The states of the panels' background jobs (training on annotations, backtests).

The page reads these values (``panels.js``: ``ev.status``), so they are the strings sent.
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where a panel's job stands."""

    IDLE = "idle"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    #: nothing to train on: the job was answered at once and never ran
    NO_DATA = "no_data"

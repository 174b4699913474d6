"""A loop session's life: its states and the moves between them (defined here only).

``created -> starting -> running -> stopping -> stopped``; a start or a stop that goes wrong
ends in ``failed`` (with a reason), and a replay or backtest that reached the end of its range
ends in ``finished``. No session moves itself to ``interrupted``: the next process that opens
the database for writing sets it on the rows a dead process left ``starting``, ``running`` or
``stopping`` (a kill -9, a power cut). The states that end a session are terminal: a stopped
session is not started again (a new session with the same id resumes its stored progress
instead). The values are the strings stored in the sessions table and sent as JSON.

>>> can_move(SessionState.RUNNING, SessionState.STOPPING)
True
>>> can_move(SessionState.STOPPED, SessionState.RUNNING)
False
>>> SessionState.FINISHED.terminal
True
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from enum import StrEnum

from ghostcandle.domain.errors import IllegalTransitionError


class SessionState(StrEnum):
    """Where a session is in its life."""

    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @property
    def terminal(self) -> bool:
        """Tell whether the session's life is over in this state."""
        return not TRANSITIONS[self]


#: The legal moves: from each state, the states it may go to next.
TRANSITIONS: Mapping[SessionState, frozenset[SessionState]] = {
    SessionState.CREATED: frozenset({SessionState.STARTING}),
    SessionState.STARTING: frozenset({SessionState.RUNNING, SessionState.FAILED}),
    SessionState.RUNNING: frozenset({SessionState.STOPPING}),
    SessionState.STOPPING: frozenset(
        {SessionState.STOPPED, SessionState.FINISHED, SessionState.FAILED}
    ),
    SessionState.STOPPED: frozenset(),
    SessionState.FINISHED: frozenset(),
    SessionState.FAILED: frozenset(),
    SessionState.INTERRUPTED: frozenset(),
}

#: The states a stored row may be left in by a process that died: what ``interrupted`` replaces.
LIVE_STATES = frozenset({SessionState.STARTING, SessionState.RUNNING, SessionState.STOPPING})

#: The states a stop may end in.
STOP_STATES = frozenset({SessionState.STOPPED, SessionState.FINISHED, SessionState.FAILED})


def can_move(current: SessionState, target: SessionState) -> bool:
    """Tell whether a session in ``current`` may go to ``target``."""
    return target in TRANSITIONS[current]


class Lifecycle:
    """The state of one session, moved only along ``TRANSITIONS`` (thread-safe).

    ``reason`` says why a session failed (None in every other state).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._state = SessionState.CREATED
        self._reason: str | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> SessionState:
        """Return the current state."""
        return self._state

    @property
    def reason(self) -> str | None:
        """Return why the session failed, or None."""
        return self._reason

    def move(self, target: SessionState, reason: str | None = None) -> None:
        """Go to ``target``; raise ``IllegalTransitionError`` (changing nothing) if not allowed.

        ``reason`` is kept with ``failed`` only.
        """
        with self._lock:
            current = self._state
            if not can_move(current, target):
                allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing: it is over"
                raise IllegalTransitionError(
                    f"session {self.name} is {current}: it cannot go to {target} "
                    f"(from {current} it may go to {allowed})"
                )
            self._state = target
            if target is SessionState.FAILED:
                self._reason = reason or "failed without a reason given"

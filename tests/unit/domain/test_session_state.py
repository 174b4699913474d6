"""The session state machine: every legal move works, every other one raises and changes nothing."""

from __future__ import annotations

import itertools

import pytest

from ghostcandle.domain.errors import ConflictError, IllegalTransitionError
from ghostcandle.domain.session_state import (
    TRANSITIONS,
    Lifecycle,
    SessionState,
    can_move,
)

S = SessionState
#: The life the issue describes, written out independently of ``TRANSITIONS``.
LEGAL = {
    (S.CREATED, S.STARTING),
    (S.STARTING, S.RUNNING),
    (S.STARTING, S.FAILED),
    (S.RUNNING, S.STOPPING),
    (S.STOPPING, S.STOPPED),
    (S.STOPPING, S.FINISHED),
    (S.STOPPING, S.FAILED),
}


def _at(state: SessionState) -> Lifecycle:
    """Return a lifecycle brought to ``state`` along legal moves only."""
    path = {
        S.CREATED: [],
        S.STARTING: [S.STARTING],
        S.RUNNING: [S.STARTING, S.RUNNING],
        S.STOPPING: [S.STARTING, S.RUNNING, S.STOPPING],
        S.STOPPED: [S.STARTING, S.RUNNING, S.STOPPING, S.STOPPED],
        S.FINISHED: [S.STARTING, S.RUNNING, S.STOPPING, S.FINISHED],
        S.FAILED: [S.STARTING, S.FAILED],
    }[state]
    life = Lifecycle("s1")
    for step in path:
        life.move(step, "why" if step is S.FAILED else None)
    assert life.state is state
    return life


def test_the_table_is_the_documented_life() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == LEGAL
    assert set(TRANSITIONS) == set(SessionState)
    assert {s for s in SessionState if s.terminal} == {
        S.STOPPED, S.FINISHED, S.FAILED, S.INTERRUPTED
    }  # fmt: skip


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_every_legal_move_works(current: SessionState, target: SessionState) -> None:
    life = _at(current)
    life.move(target, "a reason")
    assert life.state is target
    assert life.reason == ("a reason" if target is S.FAILED else None)


@pytest.mark.parametrize(
    ("current", "target"),
    # a session never reaches ``interrupted`` itself: the next writer sets it on its stored row
    [
        p
        for p in itertools.product(SessionState, SessionState)
        if p not in LEGAL and p[0] is not S.INTERRUPTED
    ],
)
def test_every_illegal_move_raises_and_changes_nothing(
    current: SessionState, target: SessionState
) -> None:
    life = _at(current)
    reason = life.reason
    assert not can_move(current, target)
    with pytest.raises(IllegalTransitionError) as info:
        life.move(target, "ignored")
    assert isinstance(info.value, ConflictError)  # HTTP 409, CLI exit 2
    msg = str(info.value)
    assert "\n" not in msg
    assert f"s1 is {current}" in msg
    assert str(target) in msg
    assert (life.state, life.reason) == (current, reason)


def test_failed_always_has_a_reason() -> None:
    life = _at(S.STARTING)
    life.move(S.FAILED)
    assert life.reason
    assert SessionState("failed") is S.FAILED  # the stored value reads back

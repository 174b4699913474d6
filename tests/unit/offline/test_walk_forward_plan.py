"""Walk-forward folds: parsed from ``train=..,test=..[,step=..]``, fixed by the range alone."""

from __future__ import annotations

import doctest
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS
from ghostcandle.engine.offline import walk_forward
from ghostcandle.engine.offline.walk_forward import parse_walk_forward, plan_folds

T0 = 1_722_000_000_000 - 1_722_000_000_000 % DAY_MS


@given(
    train=st.integers(1, 40),
    test=st.integers(1, 10),
    extra_step=st.integers(0, 5),
    span=st.integers(1, 120),
)
def test_folds_are_fixed_disjoint_and_test_after_train(
    train: int, test: int, extra_step: int, span: int
) -> None:
    spec = parse_walk_forward(f"train={train}d,test={test}d,step={test + extra_step}d")
    end = T0 + span * DAY_MS
    if train + test > span:
        with pytest.raises(UserInputError, match="shorter than one fold"):
            plan_folds(spec, T0, end)
        return
    folds = plan_folds(spec, T0, end)
    assert folds == plan_folds(spec, T0, end)  # a function of the range alone
    assert [f.index for f in folds] == list(range(1, len(folds) + 1))
    for f in folds:
        assert T0 <= f.train_start < f.train_end == f.test_start < f.test_end <= end
        assert f.train_end - f.train_start == train * DAY_MS
        assert f.test_end - f.test_start == test * DAY_MS
    for a, b in itertools.pairwise(folds):
        assert b.test_start >= a.test_end  # no target is tested twice
        assert b.train_start - a.train_start == (test + extra_step) * DAY_MS
    # as many folds as fit: one more would end past the range
    last = folds[-1]
    assert last.test_end + spec.step_ms > end


def test_step_defaults_to_test_and_units_read() -> None:
    spec = parse_walk_forward("train=30d,test=7d")
    assert (spec.train_ms, spec.test_ms, spec.step_ms) == (30 * DAY_MS, 7 * DAY_MS, 7 * DAY_MS)
    assert parse_walk_forward("test=6h, train=2d").test_ms == 6 * HOUR_MS
    assert parse_walk_forward("train=1w,test=1d").train_ms == 7 * DAY_MS


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("train=30d", "needs train= and test="),
        ("train=30d,test=7x", "cannot read 'test=7x'"),
        ("train=30d,test=7d,test=1d", "cannot read"),
        ("train=0d,test=7d", "must be positive"),
        ("train=30d,test=7d,step=3d", "use step >= test"),
        ("", "cannot read"),
    ],
)
def test_bad_specs_are_refused_in_one_line(text: str, says: str) -> None:
    with pytest.raises(UserInputError, match=says) as info:
        parse_walk_forward(text)
    assert "\n" not in str(info.value)


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(walk_forward)
    assert result.attempted > 0
    assert result.failed == 0

"""Times are accepted from 1970-01-01 to 9999-12-31, the same rule for every input form."""

from __future__ import annotations

import pytest

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import MAX_TIME_MS, format_time, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01", 0),
        ("0", 0),
        ("9999-12-31T23:59:59.999Z", MAX_TIME_MS),
        (str(MAX_TIME_MS), MAX_TIME_MS),
        ("2024-01-01T01:00:00+01:00", 1_704_067_200_000),
        ("2024-07-26T14:16:00.123456", 1_722_003_360_123),  # below a millisecond is dropped
    ],
)
def test_the_bounds_and_every_form_are_read(text: str, expected: int) -> None:
    assert parse_time(text) == expected


def test_the_upper_bound_is_the_last_millisecond_of_9999() -> None:
    assert format_time(MAX_TIME_MS) == "9999-12-31T23:59:59.999Z"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("-1", "before 1970-01-01"),
        ("1969-12-31T23:59:59.999Z", "before 1970-01-01"),
        ("0001-01-01", "before 1970-01-01"),
        ("1970-01-01T00:30:00+01:00", "before 1970-01-01"),
        (str(MAX_TIME_MS + 1), "after 9999-12-31"),
        ("99999999999999999999", "after 9999-12-31"),
        ("9" * 5000, "after 9999-12-31"),
        ("-" + "9" * 5000, "before 1970-01-01"),
    ],
)
def test_times_outside_are_refused_in_one_short_line(text: str, says: str) -> None:
    with pytest.raises(UserInputError, match=says) as info:
        parse_time(text)
    message = str(info.value)
    assert "\n" not in message
    assert len(message) < 250

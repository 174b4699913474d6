"""The bounds the HTTP API puts on times, durations and echoed input.

Every time the API takes lies between the epoch and ``MAX_TIME_MS`` (9999-01-01T00:00Z): a
year short of the last date Python can write, so the times derived from one in range (a
candle's close, a frame's decision time, a day's roll-up) can still be written as dates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import parse_time

MIN_TIME_MS = 0
#: 9999-01-01T00:00:00Z
MAX_TIME_MS = 253_370_764_800_000
TIME_RANGE = "between 1970-01-01 and 9999-01-01 (epoch milliseconds UTC)"
#: Echo at most this many characters of a refused value.
ECHO_CHARS = 60


def shown(value: Any) -> str:
    """Return ``repr(value)``, cut to ``ECHO_CHARS`` characters when longer."""
    text = repr(value)
    if len(text) <= ECHO_CHARS:
        return text
    return f"{text[: ECHO_CHARS - 12]}... ({len(text)} characters)"


def check_case(index: int, case: Mapping[str, Any]) -> None:
    """Refuse, naming the field, a test case whose time or holding period is out of range.

    Missing or ill-typed fields are left to the importer, which names them too.
    """
    where = f"test case #{index + 1}"
    stamp = case.get("timestamp")
    decision = MIN_TIME_MS
    if stamp is not None:
        text = str(stamp)
        try:
            decision = parse_time(text) if len(text) <= 40 else MAX_TIME_MS + 1
        except (UserInputError, ValueError, OverflowError):
            decision = MAX_TIME_MS + 1
        if not MIN_TIME_MS <= decision <= MAX_TIME_MS:
            raise ValueError(
                f"{where}: field 'timestamp' {shown(stamp)} is not a time {TIME_RANGE} "
                "nor an ISO date in that range"
            )
    outcome = case.get("expected_outcome")
    if not isinstance(outcome, Mapping) or "holding_period_seconds" not in outcome:
        return
    raw = outcome["holding_period_seconds"]
    try:
        holding = float(raw)
    except (TypeError, ValueError, OverflowError):
        holding = math.nan
    if not (math.isfinite(holding) and 0 < holding * 1000 <= MAX_TIME_MS - decision):
        raise ValueError(
            f"{where}: field 'expected_outcome.holding_period_seconds' {shown(raw)} is not a "
            "positive number of seconds that ends the trade before 9999-01-01"
        )

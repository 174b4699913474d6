"""Timeframes (Binance names) and time alignment; every time is int64 epoch milliseconds UTC.

>>> duration_ms("1m")
60000
>>> align_down(1_722_003_371_234, "1m")
1722003360000
>>> is_aligned(1_722_003_360_000, "1h")
False
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ghostcandle.domain.errors import UserInputError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

TIMEFRAMES: dict[str, int] = {
    "1s": SECOND_MS,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "1d": DAY_MS,
}

#: The timeframes ghostcandle runs live by default, finest first.
DEFAULT_TIMEFRAMES: tuple[str, ...] = ("1s", "1m", "1h", "1d")

#: The times ghostcandle accepts: from the Unix epoch (1970-01-01) up to the end of year 9999,
#: the last instant an ISO date can name. Nothing an exchange trades lies outside; a time
#: outside is a typo (a stray digit, seconds for milliseconds), refused before it is used.
MIN_TIME_MS = 0
MAX_TIME_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

#: The roll-up chain: each timeframe is aggregated from the one before it.
ROLLUP_CHAIN: tuple[str, ...] = ("1s", "1m", "1h", "1d")


def check_timeframe(timeframe: str) -> str:
    """Return ``timeframe`` if ghostcandle knows it, else raise a one-line UserInputError."""
    if timeframe not in TIMEFRAMES:
        known = ", ".join(TIMEFRAMES)
        raise UserInputError(f"unknown timeframe {timeframe!r}: use one of {known}")
    return timeframe


def duration_ms(timeframe: str) -> int:
    """Return the length of one candle of ``timeframe`` in milliseconds."""
    return TIMEFRAMES[check_timeframe(timeframe)]


def align_down(t_ms: int, timeframe: str) -> int:
    """Return the open time of the candle of ``timeframe`` that contains ``t_ms``."""
    d = duration_ms(timeframe)
    return t_ms - (t_ms % d)


def is_aligned(open_time_ms: int, timeframe: str) -> bool:
    """Tell whether ``open_time_ms`` is a valid open time for ``timeframe``."""
    return open_time_ms % duration_ms(timeframe) == 0


def close_time(open_time_ms: int, timeframe: str) -> int:
    """Return the close time of the candle opening at ``open_time_ms`` (open + duration)."""
    return open_time_ms + duration_ms(timeframe)


def higher_timeframes(timeframe: str) -> tuple[str, ...]:
    """Return the timeframes of the roll-up chain above ``timeframe``."""
    check_timeframe(timeframe)
    if timeframe not in ROLLUP_CHAIN:
        return ()
    return ROLLUP_CHAIN[ROLLUP_CHAIN.index(timeframe) + 1 :]


def parse_time(text: str) -> int:
    """Parse epoch milliseconds, or an ISO-8601 date/time (UTC unless it says otherwise).

    The time must lie in 1970-01-01 .. 9999-12-31 (``MIN_TIME_MS`` .. ``MAX_TIME_MS``).

    >>> parse_time("2024-01-01")
    1704067200000
    >>> parse_time("1704067200000")
    1704067200000
    """
    s = text.strip()
    if s.lstrip("-").isdigit():
        # past 20 digits it is out of range either way (and int() refuses 4,300 digits)
        n = int(s) if len(s) <= 20 else (-1 if s.startswith("-") else MAX_TIME_MS + 1)
        return check_time(n, text)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise UserInputError(
            f"cannot read time {text[:60]!r}: "
            "give epoch milliseconds or an ISO date like 2024-01-01T00:00"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    # whole milliseconds from the timedelta: no float rounding, no platform limit on the year
    return check_time((dt - EPOCH) // timedelta(milliseconds=1), text)


def check_time(t_ms: int, text: str | None = None) -> int:
    """Return ``t_ms`` if it lies in 1970-01-01 .. 9999-12-31, else raise one line naming it."""
    shown = repr(text[:60]) if text is not None else str(t_ms)[:60]
    if t_ms < MIN_TIME_MS:
        raise UserInputError(
            f"time {shown} is before 1970-01-01: give a time from 1970 on "
            "(epoch milliseconds or an ISO date like 2024-01-01)"
        )
    if t_ms > MAX_TIME_MS:
        raise UserInputError(
            f"time {shown} is after 9999-12-31: give epoch milliseconds (13 digits for "
            "today's dates) or an ISO date like 2024-01-01"
        )
    return t_ms


def format_time(t_ms: int) -> str:
    """Format epoch milliseconds as an ISO-8601 UTC string.

    >>> format_time(1704067200000)
    '2024-01-01T00:00:00Z'
    """
    dt = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if t_ms % 1000:
        text += f".{t_ms % 1000:03d}"
    return text + "Z"

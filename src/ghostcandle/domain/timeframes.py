"""Timeframes (Binance names) and time alignment; every time is int64 epoch milliseconds UTC.

>>> duration_ms("1m")
60000
>>> align_down(1_722_003_371_234, "1m")
1722003360000
>>> is_aligned(1_722_003_360_000, "1h")
False
"""

from __future__ import annotations

from datetime import UTC, datetime

from ghostcandle.domain.errors import UserInputError

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

    >>> parse_time("2024-01-01")
    1704067200000
    >>> parse_time("1704067200000")
    1704067200000
    """
    s = text.strip()
    if s.lstrip("-").isdigit():
        return int(s)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise UserInputError(
            f"cannot read time {text!r}: "
            "give epoch milliseconds or an ISO date like 2024-01-01T00:00"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


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

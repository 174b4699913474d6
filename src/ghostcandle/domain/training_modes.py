"""Training modes: what a session learns from (the list is defined here only).

The mode is vocabulary shared by every layer (the session config, the stored session rows, the
HTTP schemas, the CLI flags), so it lives in the domain; what each mode *does* is the training
policy's (``engine.training.policy``). Values are the strings stored and sent as JSON.

>>> TrainingMode("every_candle").learns_pivots
True
>>> parse_mode("manual") is TrainingMode.MANUAL
True
"""

from __future__ import annotations

from enum import StrEnum

from ghostcandle.domain.errors import UserInputError


class TrainingMode(StrEnum):
    """How a session trains: never, on every resolved candle, at pivots, or when told."""

    NONE = "none"
    EVERY_CANDLE = "every_candle"
    PIVOTS_ONLY = "pivots_only"
    MANUAL = "manual"

    @property
    def learns_pivots(self) -> bool:
        """Tell whether confirmed pivots become training samples in this mode."""
        return self in (TrainingMode.EVERY_CANDLE, TrainingMode.PIVOTS_ONLY)


def mode_names(modes: tuple[TrainingMode, ...] = tuple(TrainingMode)) -> list[str]:
    """Return the values of ``modes`` (default: all), e.g. for a CLI's ``choices``."""
    return [m.value for m in modes]


def parse_mode(
    value: str, *, allowed: tuple[TrainingMode, ...] = tuple(TrainingMode)
) -> TrainingMode:
    """Return the mode ``value`` names if it is in ``allowed``, else raise one line."""
    if value in allowed:
        return TrainingMode(value)
    raise UserInputError(
        f"unknown training mode {str(value)!r}: use one of {', '.join(mode_names(allowed))}"
    )

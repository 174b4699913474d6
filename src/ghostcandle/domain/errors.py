"""Exceptions grouped by the action they ask of the operator.

Every message is one line that says what was wrong and what to do.
"""

from __future__ import annotations


class GhostcandleError(Exception):
    """Base of every error ghostcandle raises on purpose."""


class UserInputError(GhostcandleError):
    """The input (argument, file, request) is wrong: fix it and retry."""


class DataMissingError(GhostcandleError):
    """Data the operation needs is not stored: ingest or backfill it first."""


class ConflictError(GhostcandleError):
    """The operation would overwrite a fact (a closed candle) with different values."""


class OperationalError(GhostcandleError):
    """Something in the environment is wrong (database locked, disk full): stop and fix it."""


class TemporaryError(GhostcandleError):
    """A transient failure (network, rate limit): retrying later may succeed."""

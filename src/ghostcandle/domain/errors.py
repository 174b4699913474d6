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
    """The request conflicts with what is stored or running (a candle, a session's state)."""


class IllegalTransitionError(ConflictError):
    """A session was asked for what its state does not allow (stop a stopped one ...)."""


class OperationalError(GhostcandleError):
    """Something in the environment is wrong (database locked, disk full): stop and fix it."""


class TemporaryError(GhostcandleError):
    """A transient failure (network, rate limit): retrying later may succeed."""

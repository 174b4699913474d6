"""Map errors to HTTP answers: one line that names what was wrong and what to do."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ghostcandle.domain.errors import (
    ConflictError,
    DataMissingError,
    GhostcandleError,
    OperationalError,
    TemporaryError,
    UserInputError,
)

log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[GhostcandleError], int], ...] = (
    (UserInputError, 400),
    (DataMissingError, 404),
    (ConflictError, 409),
    (TemporaryError, 503),
    (OperationalError, 503),
)


class FeatureUnavailableError(OperationalError):
    """A panel's engine part is not part of this build yet."""


def status_of(exc: GhostcandleError) -> int:
    """Return the HTTP status for an error (400 for user input, 404 for missing data ...)."""
    for cls, code in _STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def describe_validation(exc: RequestValidationError) -> str:
    """Turn pydantic's errors into one line naming each field and its problem."""
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        field = ".".join(loc) or "request body"
        parts.append(f"field '{field}': {err.get('msg', 'is not valid')}")
    return "; ".join(parts) + " (nothing was changed)"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def on_ghostcandle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GhostcandleError)
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": describe_validation(exc)}, status_code=422)

    app.add_exception_handler(GhostcandleError, on_ghostcandle)
    app.add_exception_handler(RequestValidationError, on_validation)

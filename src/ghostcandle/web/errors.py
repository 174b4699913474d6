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


#: The longest detail answered: a message that quotes a huge input is cut in its middle, so
#: what was wrong (its start) and what to do (its end) both stay.
MAX_DETAIL = 500


def clip(detail: str) -> str:
    """Return ``detail`` cut to ``MAX_DETAIL`` characters around its middle, on one line."""
    line = detail.replace("\r", " ").replace("\n", " ")
    if len(line) <= MAX_DETAIL:
        return line
    return f"{line[: MAX_DETAIL - 160]} [...] {line[-150:]}"


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
        return JSONResponse({"detail": clip(str(exc))}, status_code=status_of(exc))

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": clip(describe_validation(exc))}, status_code=422)

    app.add_exception_handler(GhostcandleError, on_ghostcandle)
    app.add_exception_handler(RequestValidationError, on_validation)

"""Request body size limits: a body larger than its endpoint takes is refused unread (413).

The import of test cases takes up to ``IMPORT_MAX_BYTES`` (an exported test case is a few
tens of KiB); every other endpoint up to ``DEFAULT_MAX_BYTES``, far more than any of their
bodies needs. A body announced larger (Content-Length) is refused before it is read; one sent
without a length is counted as it arrives and refused once it passes the limit.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 2**20
#: The largest body of POST /api/test-cases/import (README: Security).
IMPORT_MAX_BYTES = 32 * MIB
#: The largest body of every other endpoint.
DEFAULT_MAX_BYTES = 2 * MIB
_LIMITS = {"/api/test-cases/import": IMPORT_MAX_BYTES}


class _TooLarge(HTTPException):
    """The body passed its limit while it was being read (answered by the app's handler)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=_text(limit))


def limit_of(path: str) -> int:
    """Return the largest body, in bytes, that the endpoint at ``path`` takes."""
    return _LIMITS.get(path.rstrip("/"), DEFAULT_MAX_BYTES)


def _text(limit: int) -> str:
    what = "an import" if limit == IMPORT_MAX_BYTES else "a request to this endpoint"
    hint = "split the test cases into smaller files" if limit == IMPORT_MAX_BYTES else "send less"
    return (
        f"the request body is larger than {what} takes ({limit // MIB} MiB): {hint}; "
        "nothing was changed"
    )


class BodyLimit:
    """Refuse request bodies larger than their endpoint's limit with one line (413)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the announced length, then count what arrives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_of(scope.get("path", ""))
        announced = Headers(scope=scope).get("content-length", "")
        if announced.isdigit() and int(announced) > limit:
            await _refuse(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": _text(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

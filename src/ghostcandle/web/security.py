"""Access control: state-changing requests need the token when the server is reachable."""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_HEADER = "X-Ghostcandle-Token"


def presented_token(request: Request) -> str | None:
    """Return the token a request carries (header, or ``Authorization: Bearer``)."""
    token = request.headers.get(TOKEN_HEADER)
    if token:
        return token
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :]
    return None


def install(app: FastAPI, token: str | None) -> None:
    """Refuse state-changing requests without ``token`` (no-op when ``token`` is None)."""
    if token is None:
        return
    expected = token

    class TokenMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
            if request.method not in SAFE_METHODS:
                got = presented_token(request) or ""
                if not hmac.compare_digest(got.encode(), expected.encode()):
                    return JSONResponse(
                        {
                            "detail": f"this server requires its access token: send it in the "
                            f"{TOKEN_HEADER} header (printed when the server started)"
                        },
                        status_code=401,
                    )
            return await call_next(request)

    app.add_middleware(TokenMiddleware)

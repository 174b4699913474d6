"""Access control: which host names the server answers, and who may change state.

Two guards, as one ASGI middleware in front of every route (so new endpoints get them too):

* **Host names.** A request whose ``Host`` is not one of the allowed names (loopback names,
  the bound host, ``--allowed-host``) is refused with 421: a page on another site whose name
  resolves to 127.0.0.1 (DNS rebinding) reaches nothing.
* **State-changing requests** (anything but GET/HEAD/OPTIONS, body or not) need the access
  token when the server has one, else the custom header ``X-Ghostcandle``. A browser sends a
  custom header cross-site only after a CORS preflight, which this server never grants, so
  another site's page cannot post to it; the workspace page and scripts send it.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ghostcandle.web.config import WebConfig

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_HEADER = "X-Ghostcandle-Token"
#: The header the workspace page sends with every state-changing request (value: ``1``).
WRITE_HEADER = "X-Ghostcandle"
#: Host names every server answers to: this machine's loopback names.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
#: Echo at most this many characters of a refused Host header.
_ECHO = 100


def presented_token(headers: Headers) -> str | None:
    """Return the token a request carries (header, or ``Authorization: Bearer``)."""
    token = headers.get(TOKEN_HEADER)
    if token:
        return token
    auth = headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :]
    return None


def host_name(host_header: str) -> str:
    """Return the name of a ``Host`` header value, lower-case and without its port."""
    value = host_header.strip().lower()
    if value.startswith("["):  # [v6]:port
        end = value.find("]")
        return value[: end + 1] if end > 0 else value
    name, _, _ = value.partition(":")
    return name


def allowed_hosts(config: WebConfig) -> frozenset[str]:
    """Return the host names ``config``'s server answers: loopback, bound host, extra ones."""
    names: set[str] = set(LOOPBACK_NAMES)
    for raw in (config.host, *config.allowed_hosts):
        name = raw.strip().lower()
        if ":" in name and not name.startswith("["):
            name = f"[{name}]"  # a bare IPv6 address, as it appears in a Host header
        if name not in ("0.0.0.0", "[::]", ""):  # wildcard binds name no host
            names.add(name)
    return frozenset(names)


def _one_line(status: int, detail: str) -> tuple[int, bytes]:
    return status, json.dumps({"detail": detail}).encode()


class AccessGuard:
    """Refuse foreign ``Host`` names (421) and unauthorised state-changing requests."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str], token: str | None) -> None:
        self.app = app
        self.hosts = frozenset(hosts)
        self.token = token

    def refusal(self, scope: Scope) -> tuple[int, bytes] | None:
        """Return the status and one-line body refusing the request, or None to let it in."""
        headers = Headers(scope=scope)
        name = host_name(headers.get("host", ""))
        if name not in self.hosts:
            shown = name[:_ECHO] or "(none)"
            return _one_line(
                421,
                f"host {shown!r} is not served here: open the workspace by one of "
                f"{', '.join(sorted(self.hosts))}, or start serve with --allowed-host NAME",
            )
        if scope.get("method", "GET") in SAFE_METHODS:
            return None
        if self.token is not None:
            got = presented_token(headers) or ""
            if not hmac.compare_digest(got.encode(), self.token.encode()):
                return _one_line(
                    401,
                    f"this server requires its access token: send it in the {TOKEN_HEADER} "
                    "header (printed when the server started); nothing was changed",
                )
            return None
        if not headers.get(WRITE_HEADER):
            return _one_line(
                403,
                f"state-changing requests need the header '{WRITE_HEADER}: 1' (the workspace "
                "page sends it; other sites cannot); nothing was changed",
            )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a refused request at once; pass the others on."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        status, body = refused
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def install(app: Starlette, config: WebConfig) -> None:
    """Put the access guard in front of every route of ``app``."""
    token = config.token if config.needs_token else None
    app.add_middleware(AccessGuard, hosts=allowed_hosts(config), token=token)

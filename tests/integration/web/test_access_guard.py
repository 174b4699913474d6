"""No DNS rebinding, no cross-site writes: foreign Host names and header-less writes are refused.

Requests here are built by hand (``httpx.Request``) so they go out exactly as a foreign page's
would, without the header the test clients otherwise send.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import START, WRITE_HEADERS, Server, start_server, stop_server

BODY = {
    "symbol": "ETH/USDT",
    "timeframe": "1m",
    "entry_time": START + 300 * 60_000,
    "exit_time": START + 320 * 60_000,
}


def _send(srv: Server, method: str, path: str, **kw: Any) -> httpx.Response:
    with httpx.Client(timeout=30) as c:
        return c.send(httpx.Request(method, srv.url + path, **kw))


def _count(srv: Server) -> int:
    return len(_send(srv, "GET", "/api/annotations").json())


def _one_line(r: httpx.Response) -> str:
    detail = r.json()["detail"]
    assert isinstance(detail, str)
    assert "\n" not in detail
    assert len(detail) < 400
    return detail


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve with one extra host name allowed."""
    proc, srv = start_server(
        tmp_path_factory.mktemp("named"), extra_args=("--allowed-host", "GhostCandle.lan")
    )
    yield srv
    stop_server(proc)


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/annotations"), ("GET", "/")])
def test_a_foreign_host_is_refused_in_one_line(server: Server, method: str, path: str) -> None:
    r = _send(server, method, path, headers={"Host": "evil.example:8050"})
    assert r.status_code == 421
    detail = _one_line(r)
    assert "evil.example" in detail
    assert "--allowed-host" in detail


def test_a_long_foreign_host_is_not_echoed_whole(server: Server) -> None:
    r = _send(server, "GET", "/api/status", headers={"Host": "a" * 5000 + ".example"})
    assert r.status_code == 421
    _one_line(r)


def test_a_foreign_host_cannot_write_even_with_the_header(server: Server) -> None:
    before = _count(server)
    r = _send(
        server,
        "POST",
        "/api/annotations",
        json=BODY,
        headers={**WRITE_HEADERS, "Host": "rebound.example"},
    )
    assert r.status_code == 421
    assert _count(server) == before


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "LOCALHOST", "[::1]"])
def test_loopback_names_are_served(server: Server, host: str) -> None:
    port = server.url.rsplit(":", 1)[1]
    r = _send(server, "GET", "/api/status", headers={"Host": f"{host}:{port}"})
    assert r.status_code == 200, r.text


def test_an_allowed_host_is_served_and_others_still_refused(named: Server) -> None:
    assert _send(named, "GET", "/api/status", headers={"Host": "ghostcandle.lan"}).is_success
    refused = _send(named, "GET", "/api/status", headers={"Host": "ghostcandle.lan.evil.example"})
    assert refused.status_code == 421


def test_a_write_without_the_header_is_refused_and_changes_nothing(server: Server) -> None:
    before = _count(server)
    r = _send(server, "POST", "/api/annotations", json=BODY)
    assert r.status_code == 403
    assert "X-Ghostcandle: 1" in _one_line(r)
    assert _count(server) == before
    ok = _send(server, "POST", "/api/annotations", json=BODY, headers=WRITE_HEADERS)
    assert ok.status_code == 201, ok.text
    assert _count(server) == before + 1


def test_a_cross_site_form_post_is_refused(server: Server) -> None:
    """What a foreign page can send without a preflight: a text/plain form, an Origin."""
    before = _count(server)
    r = _send(
        server,
        "POST",
        "/api/annotations",
        content=b'{"symbol": "ETH/USDT"}',
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
    )
    assert r.status_code == 403
    assert _count(server) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/live-training/stop"),
        ("POST", "/api/train-model"),
        ("PATCH", "/api/annotations/0123456789ab"),
        ("DELETE", "/api/annotations/0123456789ab"),
        ("PUT", "/api/annotations"),
        ("POST", "/api/no-such-endpoint"),
    ],
)
def test_every_state_changing_method_needs_the_header_body_or_not(
    server: Server, method: str, path: str
) -> None:
    r = _send(server, method, path)
    assert r.status_code == 403
    _one_line(r)


def test_the_preflight_a_foreign_page_needs_is_not_granted(server: Server) -> None:
    r = _send(
        server,
        "OPTIONS",
        "/api/annotations",
        headers={
            "Origin": "http://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-ghostcandle, content-type",
        },
    )
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-headers" not in r.headers


def test_reads_need_no_header(server: Server) -> None:
    assert _send(server, "GET", "/api/annotations").status_code == 200

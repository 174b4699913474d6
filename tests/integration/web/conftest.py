"""A real ``ghostcandle serve`` process on 127.0.0.1 over a seeded database, one per module."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS
from ghostcandle.feeds.simulator.market import synthetic_market
from ghostcandle.feeds.simulator.server import ExchangeSimulator, SimulatorConfig
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.rollups import rollup_range

#: 2024-03-01T00:00Z: a fixed start so every run sees the same market
START = 1_709_251_200_000
DAYS = 3


@dataclass(frozen=True)
class Server:
    """A running server: its base URL, database and test-case folder."""

    url: str
    db_path: Path
    data_dir: Path
    token: str | None = None


#: how long a test waits for `ghostcandle serve` to answer
START_TIMEOUT_S = 120


def seed_database(path: Path) -> None:
    """Store DAYS days of synthetic ETH/USDT 1m candles and their 1h/1d roll-ups."""
    with Database(path) as db:
        store = CandleStore(db)
        df = synthetic_candles(DAYS * 1440, "1m", start_ms=START, seed=11)
        with db.transaction() as con:
            store.write_in(
                con, "ETH/USDT", "1m", df, source="synthetic", provenance=CandleSource.FILE
            )
            rollup_range(store, con, "ETH/USDT", "1m", START, START + DAYS * DAY_MS - 1)


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    tmp: Path,
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    extra_args: tuple[str, ...] = (),
    seed: bool = True,
) -> tuple[subprocess.Popen[bytes], Server]:
    """Start ``ghostcandle serve`` on a seeded database and wait until it answers."""
    db_path = tmp / "ws.duckdb"
    if seed and not db_path.exists():
        seed_database(db_path)
    data_dir = tmp / "test_cases"
    port = free_port()
    cmd = [sys.executable, "-m", "ghostcandle.cli.main", "serve", "--db", str(db_path)]
    cmd += ["--port", str(port), "--host", host, "--data-dir", str(data_dir)]
    if token:
        cmd += ["--token", token]
    cmd += list(extra_args)
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
    url = f"http://127.0.0.1:{port}"
    # start-up imports torch and migrates the file: seconds alone, far more on a loaded machine
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((tmp / "server.log").read_text())
        try:
            if httpx.get(f"{url}/api/status", timeout=1).status_code == 200:
                return proc, Server(url, db_path, data_dir, token)
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"ghostcandle serve did not answer within {START_TIMEOUT_S} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server process we started."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextmanager
def simulated_server(
    tmp: Path, symbols: tuple[str, ...], *, seed: int, history_ms: int = 2 * HOUR_MS
) -> Iterator[Server]:
    """Run the exchange simulator (1s and 1m candles of ``symbols``, ``history_ms`` of history)
    and ``ghostcandle serve`` streaming from it on an empty database in ``tmp``."""
    start = LiveClock().now_ms() - history_ms
    market = synthetic_market(symbols, ("1s", "1m"), start_ms=start, seed=seed)
    with ExchangeSimulator(market, SimulatorConfig(seed=seed)) as sim:
        args = ("--exchange-url", sim.rest_url, "--synthetic", "--intervals", "1s,1m")
        args += ("--symbols", ",".join(symbols))
        proc, srv = start_server(tmp, extra_args=args, seed=False)
        try:
            yield srv
        finally:
            stop_server(proc)


#: What the workspace page sends with every state-changing request (the server refuses
#: such requests without it); test clients send it too.
WRITE_HEADERS = {"X-Ghostcandle": "1"}


@pytest.fixture(scope="module", autouse=True)
def speak_as_the_page() -> Iterator[None]:
    """Make every httpx request of the module carry ``WRITE_HEADERS``, as the page's do.

    Requests built by hand (``httpx.Request``) go out as given: the refusal tests use them.
    """
    build = httpx.Client.build_request

    def with_header(self: httpx.Client, method: str, url: Any, **kw: Any) -> httpx.Request:
        kw["headers"] = {**WRITE_HEADERS, **dict(kw.get("headers") or {})}
        return build(self, method, url, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(httpx.Client, "build_request", with_header)
        yield


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Serve a seeded database on 127.0.0.1 for the whole module."""
    proc, srv = start_server(tmp_path_factory.mktemp("serve"))
    yield srv
    stop_server(proc)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    """Return an HTTP client on the module's server."""
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c

"""The exchange simulator: Binance's public REST and combined WebSocket streams on 127.0.0.1.

REST: ``/api/v3/ping``, ``/api/v3/time``, ``/api/v3/klines``, ``/api/v3/depth``.
WebSocket: ``/stream?streams=a/b`` (combined, ``{"stream", "data"}``) or ``/ws/a/b`` (raw), with
``<sym>@kline_<interval>``, ``<sym>@depth20@100ms`` and ``<sym>@depth@100ms`` (diffs; one book
per symbol behind all depth answers, see ``depth_feed.py``). Simulated time runs ``speed`` times as
fast as the injected clock; faults (``Faults``) are injected on purpose.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ghostcandle.domain.clock import Clock, LiveClock
from ghostcandle.domain.symbols import exchange_symbol
from ghostcandle.domain.timeframes import align_down, duration_ms
from ghostcandle.feeds.binance_format import kline_payload, kline_stream
from ghostcandle.feeds.simulator.depth_feed import SimDepth
from ghostcandle.feeds.simulator.faults import Faults
from ghostcandle.feeds.simulator.market import Market
from ghostcandle.feeds.simulator.rest_api import RestApi

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class SimulatorConfig:
    """How the simulator runs."""

    host: str = "127.0.0.1"
    port: int = 0
    speed: float = 1.0
    seed: int = 42
    tick_ms: int = 20
    forming_every_ms: int = 250
    depth_every_ms: int = 100
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 60.0
    faults: Faults = field(default_factory=Faults)


@dataclass(eq=False)
class _Client:
    ws: ServerConnection
    streams: frozenset[str]
    combined: bool
    opened: float
    queue: asyncio.Queue[tuple[float, str]] = field(default_factory=asyncio.Queue)
    pings_ignored: bool = False
    closing: bool = False
    shutdown_sent: bool = False


@dataclass
class SimulatorStats:
    """Counters of what the simulator did."""

    connections: int = 0
    messages: int = 0
    closed_candles: int = 0
    drops: int = 0
    shutdowns: int = 0
    malformed: int = 0
    rest_requests: int = 0
    rest_429: int = 0
    ws_refused: int = 0


class ExchangeSimulator:
    """Serve ``market`` on loopback; ``start()`` runs it on its own thread, ``stop()`` ends it."""

    def __init__(
        self,
        market: Market,
        config: SimulatorConfig | None = None,
        *,
        clock: Clock | None = None,
        sim_start_ms: int | None = None,
    ) -> None:
        self.market = market
        self.config = config or SimulatorConfig()
        self.clock = clock or LiveClock()
        self._wall0 = self.clock.now_ms()
        self._sim0 = self._wall0 if sim_start_ms is None else sim_start_ms
        self.stats = SimulatorStats()
        self.port = 0
        self._clients: set[_Client] = set()
        self._next_open: dict[tuple[str, str], int] = {}
        self._dropped_for: set[int] = set()
        self._last_drop = 0.0
        self.depth = SimDepth(market, self.config.seed, self.config.faults)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Future[None]] = set()  # keep fire-and-forget closes alive
        self.rest = RestApi(self)

    # -- time --------------------------------------------------------------------------------
    def sim_now(self) -> int:
        """Return the simulated time (epoch ms)."""
        return self._sim0 + int((self.clock.now_ms() - self._wall0) * self.config.speed)

    def book(self, symbol: str, t_ms: int, limit: int = 20) -> dict[str, Any] | None:
        """Return the best ``limit`` levels of ``symbol``'s book (REST answer), or None before
        trading began.
        """
        return self.depth.snapshot(symbol, t_ms, limit)

    # -- urls --------------------------------------------------------------------------------
    @property
    def rest_url(self) -> str:
        """Return the REST base URL (``http://127.0.0.1:PORT``)."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Return the WebSocket base URL (``ws://127.0.0.1:PORT``)."""
        return f"ws://{self.config.host}:{self.port}"

    # -- running -----------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> ExchangeSimulator:
        """Start serving on a background thread; return once listening."""
        self._thread = threading.Thread(target=self._run, name="exchange-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s) or self._error is not None:
            raise RuntimeError(f"the exchange simulator did not start: {self._error}")
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end (again: nothing)."""
        if self._thread is None or not self._thread.is_alive():
            return
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ExchangeSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self.serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()

    async def serve(self) -> None:
        """Serve until ``stop()`` (use directly to run in the foreground)."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        now = self.sim_now()
        for s in self.market.symbols:
            for i in self.market.intervals:
                self._next_open[(s, i)] = align_down(now, i)
        async with serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._process_request,
            ping_interval=self.config.ping_interval_s,
            ping_timeout=self.config.ping_timeout_s,
            compression=None,
            max_size=64 * 1024,
        ) as server:
            self.port = int(next(iter(server.sockets)).getsockname()[1])
            self._ready.set()
            ticker = asyncio.create_task(self._ticker())
            await self._stop.wait()
            ticker.cancel()
            for c in list(self._clients):
                c.ws.transport.abort()

    # -- HTTP --------------------------------------------------------------------------------
    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        if not request.path.startswith("/api/"):
            if self.config.faults.ws_down:  # the stream is down, REST still answers
                self.stats.ws_refused += 1
                return conn.respond(503, "stream unavailable (simulated)\n")
            return None
        status, body, headers = self.rest.handle(request.path)
        lag = self.config.faults.rest_depth_delay_ms
        if lag and request.path.startswith("/api/v3/depth"):
            await asyncio.sleep(lag / 1000)  # taken when asked, answered later: diffs go on
        hdrs = Headers([("Content-Type", "application/json"), ("Connection", "close")])
        for k, v in headers.items():
            hdrs[k] = v
        payload = json.dumps(body, separators=(",", ":")).encode()
        hdrs["Content-Length"] = str(len(payload))
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 418: "I'm a teapot"}
        return Response(status, reason.get(status, "Too Many Requests"), hdrs, payload)

    # -- WebSocket ---------------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        parts = urlsplit(ws.request.path if ws.request else "")
        if parts.path == "/stream":
            names = parse_qs(parts.query).get("streams", [""])[0]
            combined = True
        elif parts.path.startswith("/ws/"):
            names, combined = parts.path[4:], False
        else:
            await ws.close(1008, "use /stream?streams=... or /ws/<stream>")
            return
        client = _Client(
            ws, frozenset(n for n in names.split("/") if n), combined, time.monotonic()
        )
        self._clients.add(client)
        self.stats.connections += 1
        sender = asyncio.create_task(self._sender(client))
        try:
            async for _ in ws:
                pass  # SUBSCRIBE requests and the like are not needed by the connector
        except ConnectionClosed:
            pass
        finally:
            self._clients.discard(client)
            sender.cancel()

    def _broadcast(self, stream: str, data: dict[str, Any]) -> None:
        due = time.monotonic() + self.config.faults.delay_ms / 1000
        wrapped: str | None = None
        raw: str | None = None
        for c in self._clients:
            if stream not in c.streams:
                continue
            if c.combined:
                wrapped = wrapped or json.dumps(
                    {"stream": stream, "data": data}, separators=(",", ":")
                )
                c.queue.put_nowait((due, wrapped))
            else:
                raw = raw or json.dumps(data, separators=(",", ":"))
                c.queue.put_nowait((due, raw))

    async def _sender(self, c: _Client) -> None:
        f = self.config.faults
        n = 0
        held: str | None = None
        try:
            while True:
                due, text = await c.queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                n += 1
                frames = [text]
                if f.reorder_every and n % f.reorder_every == 0 and held is None:
                    held = text
                    continue
                if held is not None:
                    frames.append(held)
                    held = None
                if f.duplicate_every and n % f.duplicate_every == 0:
                    frames.append(text)
                if f.malformed_every and n % f.malformed_every == 0:
                    frames.append(self._malformed(n // f.malformed_every))
                    self.stats.malformed += 1
                for frame in frames:
                    await c.ws.send(frame)
                    self.stats.messages += 1
        except ConnectionClosed:
            pass

    def _malformed(self, k: int) -> str:
        s = self.market.symbols[0]
        i = self.market.intervals[0]
        t = align_down(self.sim_now(), i)
        stream = kline_stream(s, i)
        base = {"t": t, "T": t + duration_ms(i) - 1, "i": i, "x": True, "n": 1}
        kind = k % 5
        if kind == 0:
            return '{"stream": "' + stream + '", "data": {"e": "kline", '
        if kind == 1:
            k_obj: dict[str, Any] = {**base, "o": "1.0"}
        elif kind == 2:
            k_obj = {**base, "o": "1.0", "h": "NaN", "l": "1.0", "c": "1.0", "v": "1.0"}
        elif kind == 3:
            k_obj = {**base, "o": "2.0", "h": "1.0", "l": "3.0", "c": "2.0", "v": "1.0"}
        else:
            return json.dumps({"stream": stream, "data": {"e": "kline", "pad": "x" * 300_000}})
        data = {"e": "kline", "E": self.sim_now(), "s": exchange_symbol(s), "k": k_obj}
        return json.dumps({"stream": stream, "data": data})

    # -- the market clock --------------------------------------------------------------------
    async def _ticker(self) -> None:
        cfg = self.config
        last_forming = last_depth = 0.0
        while True:
            now = self.sim_now()
            wall = time.monotonic()
            forming = wall - last_forming >= cfg.forming_every_ms / 1000
            self._apply_connection_faults(now, wall)
            subscribed = (
                set().union(*(c.streams for c in self._clients)) if self._clients else set()
            )
            for (symbol, interval), first in self._next_open.items():
                nxt = first
                d = duration_ms(interval)
                stream = kline_stream(symbol, interval)
                while nxt + d <= now:
                    if stream in subscribed:
                        c = self.market.candle(symbol, interval, nxt, now)
                        if c is not None:
                            self._broadcast(stream, kline_payload(c, closed=True, event_time=now))
                            self.stats.closed_candles += 1
                    nxt += d
                self._next_open[(symbol, interval)] = nxt
                if forming and stream in subscribed:
                    c = self.market.candle(symbol, interval, nxt, now)
                    if c is not None:
                        self._broadcast(stream, kline_payload(c, closed=False, event_time=now))
            if forming:
                last_forming = wall
            if wall - last_depth >= cfg.depth_every_ms / 1000:
                last_depth = wall
                self.depth.tick(now, subscribed, self._broadcast)
            await asyncio.sleep(cfg.tick_ms / 1000)

    def _close(self, ws: ServerConnection, code: int) -> None:
        task = asyncio.ensure_future(ws.close(code))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _apply_connection_faults(self, now: int, wall: float) -> None:
        f = self.config.faults
        if f.drop_every_s and self._clients and wall - self._last_drop >= f.drop_every_s:
            self._last_drop = wall
            self.stats.drops += 1
            for c in list(self._clients):
                c.ws.transport.abort()
        elif not self._clients:
            self._last_drop = wall  # the period counts from the first connection
        if f.drop_before_close_ms:
            interval = f.drop_interval or self.market.intervals[0]
            d = duration_ms(interval)
            close = align_down(now, interval) + d
            if (
                close - now <= f.drop_before_close_ms
                and close not in self._dropped_for
                and (close // d) % max(1, f.drop_every) == 0
            ):
                self._dropped_for.add(close)
                if self._clients:
                    self.stats.drops += 1
                    log.info("fault: dropping %d connection(s)", len(self._clients))
                for c in list(self._clients):
                    c.ws.transport.abort()
        for c in list(self._clients):
            age = wall - c.opened
            if f.ignore_pings_after_s and age >= f.ignore_pings_after_s and not c.pings_ignored:
                c.pings_ignored = True
                c.ws.transport.pause_reading()
            if f.shutdown_after_s and age >= f.shutdown_after_s and not c.shutdown_sent:
                c.shutdown_sent = True
                self.stats.shutdowns += 1
                msg = {"e": "serverShutdown", "E": now}
                c.queue.put_nowait(
                    (0.0, json.dumps(msg if not c.combined else {"stream": "", "data": msg}))
                )
                asyncio.get_running_loop().call_later(f.shutdown_grace_s, self._close, c.ws, 1001)
            if f.max_connection_s and age >= f.max_connection_s and not c.closing:
                c.closing = True
                self._close(c.ws, 1000)

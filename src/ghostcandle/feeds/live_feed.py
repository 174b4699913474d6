"""The live feed: one WebSocket of combined kline (+ depth) streams, REST backfill around it.

``LiveFeed(db, bus, config).start()`` runs the connection on its own thread. Closed candles go
through the ``CandleBuilder`` (stored, then ``CandleCompletionEvent`` published, in order, no
gap); open-candle updates go to ``forming_topic`` only; depth goes to compact snapshots (from
the ``depth20`` partial book, or, with ``depth_mode="diff"``, from local books kept by diffs and
REST snapshots: ``LiveBooks``). On a drop, a ``serverShutdown``, a silent or dead link (pings
unanswered), or before the 24-hour cut-off it reconnects with jittered backoff, then backfills
the missed candles over REST.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import Clock, LiveClock
from ghostcandle.domain.errors import GhostcandleError, TemporaryError
from ghostcandle.domain.feed_health import FeedHealth
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.feeds.backfill import closed_pages
from ghostcandle.feeds.binance_format import (
    BadMessageError,
    DepthDiff,
    DepthUpdate,
    KlineUpdate,
    ServerShutdown,
    depth_stream,
    diff_depth_stream,
    kline_stream,
    parse_message,
)
from ghostcandle.feeds.candle_builder import CandleBuilder
from ghostcandle.feeds.candle_writer import write_closed
from ghostcandle.feeds.config import FeedConfig
from ghostcandle.feeds.depth import DepthRecorder
from ghostcandle.feeds.forming import FormingCandle, forming_topic
from ghostcandle.feeds.local_book import LiveBooks, fetch_snapshots
from ghostcandle.feeds.rest import BinanceRest
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthStore
from ghostcandle.store.feed_status import FeedStatusStore

log = logging.getLogger(__name__)

#: The library refuses frames above this (closing the link); ours reject far smaller ones.
_WIRE_MAX_BYTES = 8 * 1024 * 1024


class LiveFeed:
    """Run the feed of ``config`` into ``db`` and ``bus`` (see module doc)."""

    def __init__(
        self,
        db: Database,
        bus: MessageBus,
        config: FeedConfig,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.config = config
        self.clock = clock or LiveClock()
        self.builder = CandleBuilder(db, bus, source=config.exchange, on_gap=self._on_gap)
        self.depth = DepthRecorder(
            DepthStore(db), period_ms=config.depth_snapshot_ms, source=config.exchange
        )
        diff = config.depth and config.depth_mode == "diff"
        self.books = LiveBooks(config.symbols) if diff else None
        self._status_store = FeedStatusStore(db)
        self._rng = random.Random(config.seed)
        self.counters: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.connected = False
        self.last_message_at: int | None = None
        self.last_error = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._filling: set[tuple[str, str]] = set()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._ws: ClientConnection | None = None

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> LiveFeed:
        """Load history, then run the connection on a background thread."""
        self._thread = threading.Thread(
            target=self._run, name=f"feed-{self.config.name}", daemon=True
        )
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        """Tell whether the feed's thread is running (False once stopped or failed)."""
        return self._thread is not None and self._thread.is_alive()

    def wait_started(self, timeout_s: float = 30.0) -> bool:
        """Wait until history is loaded and the first connection attempt begins."""
        return self._ready.wait(timeout_s)

    def stop(self) -> None:
        """Close the connection, store what is queued and stop every thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.builder.stop()
        self.connected = False
        self._housekeeping(force=True)

    def status(self) -> FeedHealth:
        """Return the feed's health now."""
        b = self.builder.stats
        return FeedHealth(
            name=self.config.name,
            exchange=self.config.exchange,
            url=self.config.ws_url,
            at=self.clock.now_ms(),
            connected=self.connected,
            last_message_at=self.last_message_at,
            reconnects=self.counters["reconnects"],
            gaps_backfilled=self.counters["gaps_backfilled"],
            candles_backfilled=self.counters["candles_backfilled"],
            messages_rejected=sum(self.rejected.values()) + sum(self.builder.rejected.values()),
            candles_stored=b["stored"],
            rejected_by_reason=dict(self.rejected + self.builder.rejected),
            counters={
                **dict(self.counters),
                **{f"builder_{k}": v for k, v in b.items()},
                **self.depth.counters(),
                **(self.books.counters() if self.books is not None else {}),
            },
            last_error=self.last_error,
        )

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("feed %s stopped on an error", self.config.name)
        finally:
            self._ready.set()

    # -- the connection loop -----------------------------------------------------------------
    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._rest = BinanceRest(self.config.rest_url)
        try:
            try:
                await self._load_history()
            except TemporaryError as exc:  # the stream and its backfill can still run
                self.last_error = str(exc)
                log.warning("feed %s: history not loaded: %s", self.config.name, exc)
            self.builder.prime(self.config.series())
            self.builder.start()
            self._ready.set()
            house = asyncio.create_task(self._housekeeping_loop())
            delay = self.config.reconnect_min_s
            first = True
            while not self._stop.is_set():
                if not first:
                    self.counters["reconnects"] += 1
                    wait = delay * (0.5 + self._rng.random())  # jitter: no thundering herd
                    log.info("feed %s: reconnecting in %.2f s", self.config.name, wait)
                    if await self._sleep_or_stop(wait):
                        break
                first = False
                lived = await self._session()
                delay = (
                    self.config.reconnect_min_s
                    if lived > 10.0
                    else min(self.config.reconnect_max_s, delay * 2)
                )
            house.cancel()
        finally:
            await self._rest.aclose()

    async def _sleep_or_stop(self, seconds: float) -> bool:
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
            return True
        except TimeoutError:
            return False

    def _url(self) -> str:
        streams = [kline_stream(s, i) for s, i in self.config.series()]
        if self.config.depth:
            book = diff_depth_stream if self.books is not None else depth_stream
            streams += [book(s) for s in self.config.symbols]
        return f"{self.config.ws_url.rstrip('/')}/stream?streams={'/'.join(streams)}"

    async def _session(self) -> float:
        """Run one connection until it ends; return how long it lived (seconds)."""
        assert self._stop is not None
        began = time.monotonic()
        cfg = self.config
        try:
            async with connect(
                self._url(),
                proxy=None,
                compression=None,
                open_timeout=cfg.open_timeout_s,
                ping_interval=cfg.ping_interval_s,
                ping_timeout=cfg.ping_timeout_s,
                close_timeout=2,
                max_size=_WIRE_MAX_BYTES,
                max_queue=None,
            ) as ws:
                self._ws = ws
                self.connected = True
                self.counters["connections"] += 1
                if self.books is not None:
                    self.books.reconnected()  # diffs were lost: resynchronise every book
                log.info("feed %s: connected to %s", cfg.name, cfg.ws_url)
                fill = asyncio.create_task(self._backfill_all())
                try:
                    await self._read(ws, began)
                finally:
                    fill.cancel()
        except (OSError, ConnectionClosed, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("feed %s: connection lost: %s", cfg.name, self.last_error)
        finally:
            self.connected = False
            self._ws = None
        return time.monotonic() - began

    async def _read(self, ws: ClientConnection, began: float) -> None:
        assert self._stop is not None
        cfg = self.config
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            while True:
                left = cfg.max_connection_s - (time.monotonic() - began)
                if left <= 0:
                    log.info("feed %s: renewing the connection before the cut-off", cfg.name)
                    self.counters["renewals"] += 1
                    return
                recv = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait(
                    {recv, stop},
                    timeout=min(cfg.stale_after_s, left),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if stop in done:
                    recv.cancel()
                    return
                if recv not in done:
                    recv.cancel()
                    if time.monotonic() - began >= cfg.max_connection_s:
                        self.counters["renewals"] += 1
                    else:
                        log.warning(
                            "feed %s: no message for %.0f s: reconnecting",
                            cfg.name,
                            cfg.stale_after_s,
                        )
                        self.counters["stale"] += 1
                    return
                if self._handle(recv.result()):
                    return
        finally:
            stop.cancel()

    def _handle(self, raw: str | bytes) -> bool:
        """Handle one frame; return True when the server asked us to reconnect."""
        received = time.perf_counter_ns()
        self.last_message_at = self.clock.now_ms()
        self.counters["messages"] += 1
        try:
            msg = parse_message(raw)
        except BadMessageError as exc:
            self.rejected[exc.reason] += 1
            log.debug("rejected a message: %s", exc)
            return False
        if isinstance(msg, KlineUpdate):
            if msg.closed:
                self.builder.submit(
                    [msg.candle], provenance=CandleSource.WEBSOCKET, received_ns=received
                )
            elif self.config.publish_forming:
                c = msg.candle
                self.bus.publish(
                    forming_topic(c.symbol, c.timeframe),
                    FormingCandle(
                        c.symbol,
                        c.timeframe,
                        c.open_time,
                        c.open,
                        c.high,
                        c.low,
                        c.close,
                        c.volume,
                        msg.event_time,
                    ),
                )
        elif isinstance(msg, DepthUpdate):
            self.depth.offer(msg)
        elif isinstance(msg, DepthDiff):
            if self.books is not None and self.books.diff(msg.symbol, msg.diff):
                self._spawn_snapshot(msg.symbol)
        elif isinstance(msg, ServerShutdown):
            log.info("feed %s: serverShutdown received: reconnecting", self.config.name)
            self.counters["server_shutdowns"] += 1
            return True
        return False

    # -- REST --------------------------------------------------------------------------------
    async def _load_history(self) -> None:
        """Load ``history_candles`` closed candles for every series with nothing stored."""
        n = self.config.history_candles
        if n <= 0:
            return
        store = CandleStore(self.db)
        server_now = await self._rest.server_time()
        for symbol, interval in self.config.series():
            if store.last_open_time(symbol, interval) is not None:
                continue
            d = duration_ms(interval)
            start = (server_now // d) * d - n * d
            async for page, bad in closed_pages(self._rest, symbol, interval, start):
                self.rejected["rest_rows"] += bad
                result = write_closed(
                    store, page, provenance=CandleSource.REST_BACKFILL, source=self.config.exchange
                )
                self.counters["history_loaded"] += len(result.stored)

    def _on_gap(self, symbol: str, interval: str, start: int, end: int) -> None:
        """Called by the builder's thread: fill ``[start, end]`` over REST on the loop."""
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._spawn_fill, symbol, interval, start, end)

    def _spawn_fill(self, symbol: str, interval: str, start: int, end: int) -> None:
        self._spawn(self._fill(symbol, interval, start, end))

    def _spawn_snapshot(self, symbol: str) -> None:
        assert self.books is not None
        self._spawn(
            fetch_snapshots(self.books, self._rest, symbol, self.config, self._sleep_or_stop)
        )

    def _spawn(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

    async def _backfill_all(self) -> None:
        """After (re)connecting: fetch what closed since each series' last stored candle."""
        for symbol, interval in self.config.series():
            nxt = self.builder.next_open_time(symbol, interval)
            if nxt is not None:
                await self._fill(symbol, interval, nxt, None)

    async def _fill(self, symbol: str, interval: str, start: int, end: int | None) -> None:
        key = (symbol, interval)
        if key in self._filling:
            return
        self._filling.add(key)
        try:
            got = 0
            covered = start - duration_ms(interval)
            async for page, bad in closed_pages(self._rest, symbol, interval, start, end):
                self.rejected["rest_rows"] += bad
                if page:
                    got += len(page)
                    covered = max(covered, *(c.open_time for c in page))
                self.builder.submit(
                    page, provenance=CandleSource.REST_BACKFILL, covered={key: covered}
                )
            if end is not None:
                self.builder.submit([], provenance=CandleSource.REST_BACKFILL, covered={key: end})
            if got:
                self.counters["gaps_backfilled"] += 1
                self.counters["candles_backfilled"] += got
                log.info(
                    "feed %s: backfilled %d %s %s candle(s) over REST",
                    self.config.name,
                    got,
                    symbol,
                    interval,
                )
        except GhostcandleError as exc:
            self.last_error = str(exc)
            log.warning(
                "feed %s: backfill of %s %s failed: %s", self.config.name, symbol, interval, exc
            )
        finally:
            self._filling.discard(key)

    # -- housekeeping ------------------------------------------------------------------------
    async def _housekeeping_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(0.25, self.config.depth_snapshot_ms / 1000))
            await loop.run_in_executor(None, self._housekeeping)

    def _housekeeping(self, *, force: bool = False) -> None:
        now = self.clock.now_ms()
        try:
            if self.config.depth:
                for top, known in self.books.tops() if self.books is not None else ():
                    self.depth.offer(top, known)
                self.depth.flush(now)
            last = getattr(self, "_status_saved", 0)
            if force or now - last >= self.config.status_every_s * 1000:
                self._status_saved = now
                h = self.status()
                if self.config.status_file:
                    write_status_file(self.config.status_file, h.to_json())
                self._status_store.save(h)
        except Exception:
            log.exception("feed %s: housekeeping failed; it goes on", self.config.name)


def write_status_file(path: str, data: dict[str, object]) -> None:
    """Write ``data`` as JSON to ``path`` atomically (temp file, then rename)."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    os.replace(tmp, target)

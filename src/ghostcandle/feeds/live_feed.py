"""The live feed: one WebSocket of combined kline (+ depth) streams, REST backfill around it.

``LiveFeed(db, bus, config).start()`` runs the connection on its own thread. Closed candles go
through the ``CandleBuilder`` (stored, then ``CandleCompletionEvent`` published, in order, no
gap); open-candle updates go to ``forming_topic`` only; depth goes to compact snapshots (from
the ``depth20`` partial book, or, with ``depth_mode="diff"``, from local books kept by diffs and
REST snapshots: ``LiveBooks``). On a drop, a ``serverShutdown``, a silent or dead link (pings
unanswered), or before the 24-hour cut-off it reconnects with jittered back-off (``Backoff``),
then backfills the missed candles over REST; while the stream is down it polls closed candles
over REST (``RestCatchUp``) so the store and the loop keep moving. With ``give_up_after_s``,
when neither the stream nor REST answered for that long, it stops (``last_error`` says why).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from ghostcandle.domain.clock import Clock, LiveClock
from ghostcandle.domain.errors import TemporaryError
from ghostcandle.domain.feed_health import FeedHealth
from ghostcandle.feeds.backoff import Backoff
from ghostcandle.feeds.binance_format import depth_stream, diff_depth_stream, kline_stream
from ghostcandle.feeds.candle_builder import CandleBuilder
from ghostcandle.feeds.config import FeedConfig
from ghostcandle.feeds.depth import DepthRecorder
from ghostcandle.feeds.feed_report import feed_health, write_status_file
from ghostcandle.feeds.local_book import LiveBooks, fetch_snapshots
from ghostcandle.feeds.rest import BinanceRest
from ghostcandle.feeds.rest_catchup import RestCatchUp
from ghostcandle.feeds.stream_router import StreamRouter
from ghostcandle.messaging.bus import MessageBus
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
        self._backoff = Backoff(
            config.reconnect_min_s, config.reconnect_max_s, random.Random(config.seed)
        )
        self.counters: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.router = StreamRouter(
            config=config,
            clock=self.clock,
            builder=self.builder,
            bus=bus,
            depth=self.depth,
            books=self.books,
            counters=self.counters,
            rejected=self.rejected,
            on_resync=self._spawn_snapshot,
        )
        self.connected = False
        self.last_error = ""
        #: when the stream went down (epoch ms; None while connected) and when the next
        #: connection attempt is due (None unless waiting): the health tells both
        self.down_since: int | None = None
        self.retry_at: int | None = None
        self.polling = False  # the stream is down and the last REST poll answered
        self.gave_up = False
        self._stopped = False
        self.waited_s = 0.0
        self._reached = time.monotonic()  # the last time the stream or REST answered
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
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
        loop = self._loop
        if loop is not None and self._stop is not None and not loop.is_closed():
            # it may close meanwhile (the feed gave up): then there is nothing to stop
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.builder.stop()
        self.connected = False
        self._stopped = True
        self._housekeeping(force=True)

    def state(self) -> str:
        """Return what the feed is doing, in words (``status`` shows it)."""
        if self.gave_up:
            return "unreachable"
        if self._stopped:
            return "stopped"
        if self.connected:
            return "connected"
        if self.polling:
            return "stream down, polling"
        return "reconnecting" if self.counters["connections"] else "connecting"

    def status(self) -> FeedHealth:
        """Return the feed's health now."""
        return feed_health(self)

    @property
    def last_message_at(self) -> int | None:
        """Return when the last frame arrived (epoch ms; None before any)."""
        return self.router.last_message_at

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
        self.catchup = RestCatchUp(
            self._rest,
            self.builder,
            self.config,
            counters=self.counters,
            rejected=self.rejected,
            on_error=self._failed,
        )
        self.down_since = self.clock.now_ms()
        try:
            try:
                await self.catchup.load_history()
                self._reached = time.monotonic()
            except TemporaryError as exc:  # the stream and its backfill can still run
                self.last_error = str(exc)
                log.warning("feed %s: history not loaded: %s", self.config.name, exc)
            self.builder.prime(self.config.series())
            self.builder.start()
            self._ready.set()
            house = asyncio.create_task(self._housekeeping_loop())
            poll = asyncio.create_task(self._poll_loop())
            first = True
            while not self._stop.is_set():
                if not first:
                    if self._out_of_budget():
                        break
                    self.counters["reconnects"] += 1
                    wait = self._backoff.next_wait()
                    log.info("feed %s: reconnecting in %.2f s", self.config.name, wait)
                    self.retry_at = self.clock.now_ms() + round(wait * 1000)
                    self.waited_s += wait
                    stopped = await self._sleep_or_stop(wait)
                    self.retry_at = None
                    if stopped:
                        break
                first = False
                self.router.delivered = False
                await self._session()
                if self.router.delivered:  # a link that works: a drop is no reason to wait long
                    self._backoff.reset()
            house.cancel()
            poll.cancel()
        finally:
            await self._rest.aclose()

    def _failed(self, reason: str) -> None:
        self.last_error = reason

    def _out_of_budget(self) -> bool:
        """Give up (stop, saying why) when nothing answered for ``give_up_after_s``."""
        budget = self.config.give_up_after_s
        if budget is None or self.connected or time.monotonic() - self._reached < budget:
            return False
        self.gave_up = True
        self.last_error = (
            f"neither the stream at {self.config.ws_url} nor REST at {self.config.rest_url} "
            f"answered for {budget:g} s (last: {self.last_error or 'no answer'})"
        )
        log.error("feed %s: %s: giving up", self.config.name, self.last_error)
        assert self._stop is not None
        self._stop.set()
        return True

    async def _poll_loop(self) -> None:
        """While the stream is down, fetch closed candles over REST every ``poll_every_s``."""
        while True:
            await asyncio.sleep(self.config.poll_every_s)
            if self.connected:
                self.polling = False
                continue
            reached = await self.catchup.poll()
            if self.connected:
                continue
            self.polling = reached
            if reached:
                self._reached = time.monotonic()
            else:
                self._out_of_budget()

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
                self.polling = False
                self.down_since = None
                self._reached = time.monotonic()
                self.counters["connections"] += 1
                if self.books is not None:
                    self.books.reconnected()  # diffs were lost: resynchronise every book
                log.info("feed %s: connected to %s", cfg.name, cfg.ws_url)
                fill = asyncio.create_task(self.catchup.fill_all())
                try:
                    await self._read(ws, began)
                finally:
                    fill.cancel()
        except (OSError, ConnectionClosed, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("feed %s: connection lost: %s", cfg.name, self.last_error)
        finally:
            if self.connected or self.down_since is None:
                self.down_since = self.clock.now_ms()
            self.connected = False
            self._ws = None
            if self.router.delivered:
                self._reached = time.monotonic()
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
                if self.router.handle(recv.result()):
                    return
        finally:
            stop.cancel()

    # -- REST ------------------------------------------------------------------------------
    def _on_gap(self, symbol: str, interval: str, start: int, end: int) -> None:
        """Called by the builder's thread: fill ``[start, end]`` over REST on the loop."""
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._spawn_fill, symbol, interval, start, end)

    def _spawn_fill(self, symbol: str, interval: str, start: int, end: int) -> None:
        self._spawn(self.catchup.fill(symbol, interval, start, end))

    def _spawn_snapshot(self, symbol: str) -> None:
        assert self.books is not None
        self._spawn(
            fetch_snapshots(self.books, self._rest, symbol, self.config, self._sleep_or_stop)
        )

    def _spawn(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(self._tasks.discard)

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

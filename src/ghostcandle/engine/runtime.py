"""The composition root of one serving process: store + bus + feed + structure + live sessions.

``Runtime`` owns the threaded bus, the market-structure engine, an optional ``LiveFeed``
connected to an exchange (Binance or the exchange simulator: the same code, only the base URLs
differ) and up to ``MAX_LIVE_SESSIONS`` live ``LoopSession``s side by side (``LiveSlots``, by
session id), each trading on paper (a ``PaperTrader``, its account stored per session id). They
share the bus (one dispatcher thread: their handlers never run at once), the store (its lock)
and the structure engine; each session is the one writer of its weights. The web app creates
one in its lifespan and closes it on shutdown; nothing here is global.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from ghostcandle.domain.actions import Action
from ghostcandle.domain.clock import Clock, FeedClock
from ghostcandle.domain.errors import (
    ConflictError,
    IllegalTransitionError,
    OperationalError,
    UserInputError,
)
from ghostcandle.domain.events import CandleCompletionEvent, candle_topic
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.session_state import SessionState
from ghostcandle.domain.symbols import DEFAULT_SYMBOLS
from ghostcandle.engine.live_setup import (
    DEFAULT_LIVE_CONFIG,
    DEFAULT_LIVE_MODEL,
    LIVE_CONFIGS,
    LIVE_MODES,
    LiveRequest,
    check_history,
    live_config,
    plan_live,
)
from ghostcandle.engine.live_slots import MAX_LIVE_SESSIONS, LiveSlot, LiveSlots
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.offline.service import OfflineFit
from ghostcandle.engine.offline.trainer import EpochResult
from ghostcandle.engine.offline.warm_start import train_on_history
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.engine.structure.engine import StructureEngine
from ghostcandle.engine.trading.paper import PaperTrader
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.engine.training.start_checkpoint import (
    START_FROM,
    StartCheckpoint,
    check_start_from,
    load_start_checkpoint,
    seed_checkpoint,
)
from ghostcandle.feeds.config import LIVE_QUEUE_MAX, FeedConfig
from ghostcandle.feeds.forming import FormingCandle, forming_topic
from ghostcandle.feeds.live_feed import LiveFeed
from ghostcandle.messaging.bus import MessageBus, Subscription
from ghostcandle.store.cache_keeper import CacheKeeper
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.paper import PaperStore
from ghostcandle.store.sessions import interrupt_dead

log = logging.getLogger(__name__)
# what callers import from here (the live start's settings live in ``engine.live_setup``)
__all__ = [
    "DEFAULT_LIVE_CONFIG",
    "DEFAULT_LIVE_MODEL",
    "LIVE_CONFIGS",
    "MAX_LIVE_SESSIONS",
    "ExchangeConfig",
    "LiveRequest",
    "LiveSlot",
    "Runtime",
    "live_config",
]


@dataclass(frozen=True, kw_only=True)
class ExchangeConfig:
    """Where the live feed connects. ``synthetic`` marks the exchange simulator's fake market."""

    rest_url: str
    ws_url: str
    name: str = "binance"
    synthetic: bool = False
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    intervals: tuple[str, ...] = ("1s", "1m", "1h", "1d")
    history_candles: int = 1000
    #: order book recorded by the feed: "off", "depth20" or "diff" (``feeds.config.DEPTH_MODES``)
    depth: str = "off"

    def label(self) -> str:
        """Return what the page shows about the market (SYNTHETIC for the simulator)."""
        kind = "SYNTHETIC market (exchange simulator)" if self.synthetic else "live market"
        return f"{kind} at {self.rest_url}"


#: Called on the bus thread after a live session handled a closed candle.
CandleListener = Callable[[LoopSession, CandleCompletionEvent], None]
FormingListener = Callable[[FormingCandle], None]
#: Called when a new live session becomes the newest one (started or failed to), before its
#: first candle reaches the candle listener.
SessionListener = Callable[[LoopSession], None]


class Runtime:
    """Run the feed, market structure and live sessions side by side on a threaded bus."""

    def __init__(
        self, db: Database, clock: Clock, *, exchange: ExchangeConfig | None = None
    ) -> None:
        self.db = db
        #: the sessions' clock: the wall clock, moved ahead by the candles the feed delivers
        #: (a sped-up simulator's time runs ahead of it; see ``FeedClock``); the feed itself
        #: keeps the wall clock (``wall_clock``) for its reconnects and health
        self.clock = FeedClock(clock)
        self.wall_clock = clock
        self.exchange = exchange
        # this process now writes the file: a session still live in it is a dead process's
        interrupt_dead(db)
        db.checkpoint_often()  # rows become compressed, evictable blocks within minutes
        #: keeps DuckDB's cache of those blocks near a working set (it grows with the file)
        self.cache_keeper = CacheKeeper(db).start()
        self.bus = MessageBus(threaded=True, name="runtime-bus", max_queue=LIVE_QUEUE_MAX)
        # subscribed first: each candle moves the clock before any session handles it
        self.bus.subscribe("candles.*", self._observe, name="feed-clock")
        self.structure = StructureEngine(self.bus, db)
        self.feed: LiveFeed | None = None
        #: the live sessions side by side, by session id (the newest last)
        self.slots = LiveSlots()
        self._lock = threading.RLock()
        self.on_candle: CandleListener | None = None
        self.on_forming: FormingListener | None = None
        self.on_session: SessionListener | None = None
        self.on_feed_subs: list[Subscription] = []

    def _observe(self, event: CandleCompletionEvent) -> None:
        self.clock.observe(event.candle.close_time)

    # -- feed -----------------------------------------------------------------------------------
    def start_feed(self, *, wait_s: float = 60.0) -> None:
        """Connect to the exchange (history first, then the stream) and track market structure."""
        ex = self.exchange
        if ex is None or self.feed is not None:
            return
        config = FeedConfig(
            name=ex.name,
            exchange=ex.name,
            symbols=ex.symbols,
            intervals=ex.intervals,
            rest_url=ex.rest_url,
            ws_url=ex.ws_url,
            depth=ex.depth != "off",
            depth_mode="depth20" if ex.depth == "off" else ex.depth,
            history_candles=ex.history_candles,
            publish_forming=True,
        )
        for symbol, tf in config.series():
            self.structure.track(symbol, tf)
            self.on_feed_subs.append(
                self.bus.subscribe(forming_topic(symbol, tf), self._forming, name="ui-forming")
            )
        self.feed = LiveFeed(self.db, self.bus, config, clock=self.wall_clock).start()
        if not self.feed.wait_started(wait_s):
            log.warning(
                "the feed from %s did not load its history within %.0f s", ex.rest_url, wait_s
            )

    def feed_status(self) -> dict[str, Any] | None:
        """Return the feed's health and what market it is, or None without a feed."""
        if self.feed is None or self.exchange is None:
            return None
        return {
            **self.feed.status().to_json(),
            "label": self.exchange.label(),
            "synthetic": self.exchange.synthetic,
        }

    def _forming(self, candle: FormingCandle) -> None:
        if self.on_forming is not None:
            self.on_forming(candle)

    # -- live sessions --------------------------------------------------------------------------
    @property
    def session(self) -> LoopSession | None:
        """The newest live session (None before any): what a caller naming none means."""
        slot = self.slots.newest()
        return None if slot is None else slot.session

    @property
    def paper(self) -> PaperTrader | None:
        """The newest live session's paper trader (None if it has none)."""
        slot = self.slots.newest()
        return None if slot is None else slot.paper

    @property
    def start_checkpoint(self) -> StartCheckpoint | None:
        """The checkpoint the newest live session started from (None: fresh weights)."""
        slot = self.slots.newest()
        return None if slot is None else slot.start_checkpoint

    def slot(self, session_id: str | None = None) -> LiveSlot | None:
        """Return the slot of ``session_id`` (None: the newest; ``DataMissingError`` if none
        holds that id). Safe from the bus thread: it never waits on a start or stop."""
        return self.slots.get(session_id)

    def sessions(self) -> list[dict[str, Any]]:
        """Describe every live session kept (live and recently ended), oldest first."""
        return [s.describe() for s in self.slots.all()]

    def paper_of(self, session_id: str) -> PaperTrader | None:
        """Return the paper trader following ``session_id`` now (None if none does)."""
        slots = self.slots.all()
        return next((s.paper for s in slots if s.session_id == session_id and s.live), None)

    def start_live(self, req: LiveRequest) -> LoopSession:
        """Start live inference and paper trading on the feed, beside the sessions that run.

        With ``start_from="annotations"`` the session starts from the model's latest
        annotation-trained checkpoint, with ``start_from=NAME`` from the offline-trained
        checkpoint NAME (its own family unless ``model`` is given), and reads the timeframes
        that checkpoint was built for. Raise ``IllegalTransitionError`` while a session of the
        same id runs, or ``MAX_LIVE_SESSIONS`` do. A session that fails to start stays the
        newest one (``failed``, with its reason).
        """
        if req.mode not in LIVE_MODES:
            raise UserInputError(
                f"field 'mode': {req.mode!r} is not one of {', '.join(LIVE_MODES)}"
            )
        check_start_from(req.start_from)
        with self._lock:
            if self.feed is None or self.exchange is None:
                raise OperationalError(
                    "no exchange feed is connected: start `ghostcandle serve --exchange-url URL` "
                    "(or `make demo`, which starts the exchange simulator)"
                )
            if req.symbol not in self.exchange.symbols:
                raise UserInputError(
                    f"field 'symbol': {req.symbol} is not streamed by the feed: use one of "
                    f"{', '.join(self.exchange.symbols)}"
                )
            # a named checkpoint holds its own family; otherwise the default live model
            named = req.start_from not in START_FROM
            model = req.model or ("" if named else DEFAULT_LIVE_MODEL)
            start = load_start_checkpoint(
                self.db.path, self.clock, model, req.start_from, req.model_config
            )
            if start is not None:
                model = start.family
            plan = plan_live(req, model, start, self.exchange.intervals)
            # one writer of a session's weights: its id is refused while it is live
            self.slots.check_room(plan.session_id)
            check_history(CandleStore(self.db), plan, req.symbol)
            config = SessionConfig(
                session_id=plan.session_id,
                model=model,
                model_config=plan.model_config,
                symbols=(req.symbol,),
                timeframes=plan.timeframes,
                mode=req.mode,
                checkpoint_every=200,
            )
            if start is not None:
                # the session resumes from its newest checkpoint: the first one is the
                # checkpoint's state (later ones are its own progress)
                ckpts = CheckpointStore(checkpoint_dir_for(self.db.path), self.clock)
                seed_checkpoint(ckpts, config.session_id, start)
            session = LoopSession(self.db, config, self.bus, self.clock, kind="live")
            slot = LiveSlot(session, start)
            try:
                session.start()
            finally:
                # one that failed stays, to be shown with its reason
                self.slots.put(slot)
                if self.on_session is not None:
                    self.on_session(session)
            try:
                # subscribed after the session, before the page: the account is up to date
                # with a candle when the page hears of it
                slot.paper = PaperTrader(session, PaperStore(self.db))
            except ValueError as exc:
                # the stored account of this session id trades a timeframe it no longer predicts
                refused = ConflictError(
                    f"the paper account of {config.session_id} cannot follow this session "
                    f"({exc}): start it with the settings it was created with"
                )
                session.stop(status=SessionState.FAILED, reason=str(refused))
                raise refused from None
            except BaseException as exc:
                session.stop(status=SessionState.FAILED, reason=f"{type(exc).__name__}: {exc}")
                raise
            self._collect_samples()
            # after the session's own subscriptions: the bus delivers in subscription order,
            # so the page hears of a candle once its predictions are made and resolved
            for tf in session.model_timeframes:
                slot.subs.append(
                    self.bus.subscribe(
                        candle_topic(req.symbol, tf),
                        partial(self._candle, session),
                        name=f"ui-candles:{config.session_id}",
                    )
                )
            return session

    def _collect_samples(self) -> None:
        """Record rapid moves as samples for the newest live session that learns (the
        structure engine records them at one set of windows), none if none learns."""
        for slot in reversed(self.slots.live()):
            if slot.session.status()["samples"] is not None:  # it learns
                windows = slot.session.model_snapshot().windows
                self.structure.collect_samples(SampleRegistry(self.db, self.clock), windows)
                return
        self.structure.collect_samples(None, None)

    def warm_start(
        self, req: LiveRequest, *, on_epoch: Callable[[EpochResult], None] | None = None
    ) -> tuple[LiveRequest, OfflineFit]:
        """Train the live model offline on the stored history; return ``req`` starting from it.

        Call it after ``start_feed``: the history the feed loaded is what is trained on
        (``engine.offline.warm_start``). The checkpoint holds the model config, so the returned
        request names none. The fit comes back beside it.
        """
        model = req.model or DEFAULT_LIVE_MODEL
        config = dict(req.model_config) or live_config(model, req.timeframes)
        fitted = train_on_history(self.db, self.clock, req.symbol, model, config, on_epoch=on_epoch)
        name = fitted.record.name
        assert name is not None  # a fit always writes a named checkpoint
        return replace(req, model=model, model_config={}, start_from=name), fitted

    def stop_live(self, session_id: str | None = None) -> LoopSession:
        """Stop the live session ``session_id`` (None: the newest); return it (stopped).

        Raise ``IllegalTransitionError`` (changing nothing) when it does not run,
        ``DataMissingError`` when no session has that id.
        """
        with self._lock:
            slot = self.slots.get(session_id)
            if slot is None or not slot.session.running:
                state = "none was started" if slot is None else f"it is {slot.session.state}"
                raise IllegalTransitionError(
                    f"live mode is not running ({state}): there is nothing to stop"
                )
            self._stop_live(slot)
            return slot.session

    def _stop_live(self, slot: LiveSlot) -> None:
        for sub in slot.subs:
            sub.cancel()
        slot.subs = []
        if slot.paper is not None:
            slot.paper.close()
            slot.paper = None
        slot.session.stop()
        self._collect_samples()

    def label(self, action: str, session_id: str | None = None) -> FrameRef:
        """Train the live session ``session_id`` (None: the newest) on the current candle with
        the trader's ``action``."""
        slot = self.slot(session_id)
        session = None if slot is None else slot.session
        if session is None or not session.running:
            raise OperationalError("live mode is not running: start it in manual mode first")
        if session.config.mode != "manual":
            raise UserInputError(
                f"live mode runs in {session.config.mode!r}: restart it in 'manual' mode to label"
            )
        try:
            act = Action[action]
        except KeyError:
            raise UserInputError(f"field 'action': {action!r} is not BUY, SELL or HOLD") from None
        tf = session.timeframes[0]
        return session.label(session.config.symbols[0], tf, act)

    def _candle(self, session: LoopSession, event: CandleCompletionEvent) -> None:
        if self.on_candle is not None:
            self.on_candle(session, event)

    # -- life cycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the sessions that run, the feed, structure tracking and the bus."""
        with self._lock:
            for slot in self.slots.all():
                if slot.session.running:
                    self._stop_live(slot)
        for sub in self.on_feed_subs:
            sub.cancel()
        if self.feed is not None:
            self.feed.stop()
        self.structure.close()
        self.bus.close()
        self.cache_keeper.stop()

"""The long-lived objects behind the web app, created in its lifespan and closed after it."""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass, field

from ghostcandle.domain.clock import Clock, LiveClock
from ghostcandle.domain.errors import GhostcandleError
from ghostcandle.engine.offline.trainer import EpochResult
from ghostcandle.engine.runtime import LiveRequest, Runtime
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candle_series import SeriesSpans
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.web.backtest_job import BacktestJobs
from ghostcandle.web.candle_fetch import exchange_fetcher
from ghostcandle.web.config import WebConfig
from ghostcandle.web.events import EventHub
from ghostcandle.web.live_bridge import LiveBridge
from ghostcandle.web.training_job import TrainingJobs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Feature:
    """Whether a panel's engine part exists in this build, and why not if it does not."""

    name: str
    available: bool
    reason: str = ""


#: The engine module each panel drives, and what the page says while it is missing.
PANEL_MODULES: dict[str, tuple[str, str]] = {
    "training": (
        "ghostcandle.engine.training.trainer",
        "the single trainer (ghostcandle.engine.training.trainer) is not part of this build yet",
    ),
    "live": (
        "ghostcandle.engine.loop.session",
        "the live loop (ghostcandle.engine.loop.session) is not part of this build yet",
    ),
    "backtest": (
        "ghostcandle.engine.trading.backtest",
        "the backtest engine (ghostcandle.engine.trading.backtest) is not part of this build yet",
    ),
}


#: Panels whose endpoints drive their engine part; the others stay disabled and say why.
WIRED_PANELS: frozenset[str] = frozenset({"training", "live", "backtest"})


def probe_features() -> dict[str, Feature]:
    """Return which panels can run, checking for their engine modules without importing them."""
    out: dict[str, Feature] = {}
    for name, (module, missing) in PANEL_MODULES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            out[name] = Feature(name, False, missing)
        elif name not in WIRED_PANELS:
            out[name] = Feature(
                name, False, f"{module} exists, but the workspace is not connected to it yet"
            )
        else:
            out[name] = Feature(name, True)
    return out


@dataclass
class Workspace:
    """Everything the routers use; one per app, no globals."""

    config: WebConfig
    db: Database
    candles: CandleStore
    spans: SeriesSpans
    annotations: AnnotationStore
    hub: EventHub
    clock: Clock
    runtime: Runtime
    training: TrainingJobs
    live: LiveBridge
    backtests: BacktestJobs
    features: dict[str, Feature] = field(default_factory=probe_features)
    feed_error: str = ""

    @staticmethod
    def open(config: WebConfig, clock: Clock | None = None) -> Workspace:
        """Open the database and the stores the config names."""
        clk = clock or LiveClock()
        db = Database(config.db_path)
        candles = CandleStore(db)
        hub = EventHub()
        fetch = None if config.exchange is None else exchange_fetcher(candles, config.exchange)
        annotations = AnnotationStore(db, candles, config.data_dir, clk, fetch=fetch)
        runtime = Runtime(db, clk, exchange=config.exchange)
        return Workspace(
            config=config,
            db=db,
            candles=candles,
            spans=SeriesSpans(db),
            annotations=annotations,
            hub=hub,
            clock=clk,
            runtime=runtime,
            training=TrainingJobs(db, annotations, clk, lambda d: hub.publish("training", d)),
            live=LiveBridge(runtime, hub.publish),
            backtests=BacktestJobs(db, lambda d: hub.publish("backtest", d)),
        )

    def start_engine(self) -> threading.Thread:
        """Connect the feed and start the configured live mode, off the server's loop."""

        def run() -> None:
            try:
                self.runtime.start_feed()
                live = self.config.live
                if live is not None:
                    if self.config.warm_start:
                        live = self._warm_start(live)
                    self.runtime.start_live(live)
                    log.info("live inference started (%s mode)", live.mode)
            except Exception as exc:  # shown on the page; the workspace stays usable
                self.feed_error = f"{type(exc).__name__}: {exc}"
                log.exception("the live engine did not start")
            self.hub.publish("live", self.live.status())

        t = threading.Thread(target=run, name="engine-start", daemon=True)
        t.start()
        return t

    def _warm_start(self, live: LiveRequest) -> LiveRequest:
        """Train the live model on the feed's history, logging each epoch; fresh on failure."""
        log.info("training the live model on the stored history of %s first", live.symbol)

        def on_epoch(e: EpochResult) -> None:
            log.info(
                "start-up training epoch %d/%d: train loss %.4f, validation loss %.4f%s (%.1f s)",
                e.epoch, e.epochs, e.train_loss, e.val_loss, " best" if e.best else "",
                e.duration_s,
            )  # fmt: skip

        try:
            started, fitted = self.runtime.warm_start(live, on_epoch=on_epoch)
        except GhostcandleError as exc:  # too little history: live still starts, fresh
            log.warning("start-up training skipped (%s): live starts from fresh weights", exc)
            return live
        f = fitted.fit
        log.info(
            "live starts from the checkpoint %s: trained on %d decisions, validated on %d, "
            "best epoch %d, %.1f s",
            started.start_from, f.train_samples, f.val_samples, f.best_epoch, f.duration_s,
        )  # fmt: skip
        return started

    def close(self) -> None:
        """Stop the engine and streams, then close the database."""
        self.training.wait(30)
        self.backtests.wait(30)
        self.runtime.close()
        self.hub.close()
        self.db.close()

"""A loop session: predict the next candle at every close, resolve, and train in its mode.

The same object runs live (threaded bus, live clock) and in replay (synchronous bus, replay
clock); the web API starts, stops and queries it. On each ``CandleCompletionEvent`` it drives
four parts: the window cache learns the candle and, if its timeframe is predicted, every model
predicts the next one (``prediction``); what targeted the candle is resolved, what waited past
its grace period expires, and the frames go to the training policy (``resolution``), whose
batches the trainer applies (``training_handoff``); every ``flush_every`` events what changed,
the step records and the weights of the last good step go as one job to the ledger writer
(``session_writes``). The handler never waits for the commit: ``flush()`` does. Live
(``flush_every=1``) the flush waits for the bus to go idle: the candles of one tick (every
symbol and timeframe closing at that second) go to the writer as one job, not one per candle;
if the bus never idles (it is behind), the first candle of the next tick flushes the last.

Its life is a state machine (``domain.session_state``): ``created -> starting -> running ->
stopping -> stopped`` (``finished`` at a replay's end, ``failed`` with a reason when starting or
the last flush fails); any other move raises ``IllegalTransitionError`` and changes nothing.
A start resumes from the committed progress: the checkpoint its row references, the pending
predictions resolved from candles stored meanwhile (or expired), their frames trained on later.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import torch

from ghostcandle.domain.actions import Action
from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import (
    DataMissingError,
    GhostcandleError,
    OperationalError,
    UserInputError,
)
from ghostcandle.domain.events import CandleCompletionEvent, PivotEvent, candle_topic, pivot_topic
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.session_state import STOP_STATES, Lifecycle, SessionState
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.loop.config import SessionConfig, finest_first
from ghostcandle.engine.loop.ledger_writer import LedgerWriter
from ghostcandle.engine.loop.metrics import LoopMetrics
from ghostcandle.engine.loop.prediction import SessionPredictors
from ghostcandle.engine.loop.predictor import Predictor
from ghostcandle.engine.loop.resolution import Resolution
from ghostcandle.engine.loop.resolver import Resolver
from ghostcandle.engine.loop.sample_keeping import SessionSamples
from ghostcandle.engine.loop.session_writes import SessionWrites
from ghostcandle.engine.loop.training_handoff import TrainingHandoff
from ghostcandle.engine.loop.writes import SessionStores
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.engine.training.policy import TrainingPolicy
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.messaging import collector
from ghostcandle.messaging.bus import MessageBus, Subscription
from ghostcandle.models.base import Model
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import PredictionLedger, PredictionRecord
from ghostcandle.store.sessions import SessionStore

log = logging.getLogger(__name__)


class LoopSession:
    """One session of the loop (see the module doc). Not started until ``start()``."""

    def __init__(
        self,
        db: Database,
        config: SessionConfig,
        bus: MessageBus,
        clock: Clock,
        *,
        kind: str = "live",
        checkpoint_dir: str | None = None,
        writer: LedgerWriter | None = None,
    ) -> None:
        """Prepare a session; ``writer`` may be shared by the sessions of one database."""
        self.db, self.config, self.bus, self.clock, self.kind = db, config, bus, clock, kind
        self.candles = CandleStore(db)
        self._stores = stores = SessionStores(
            FrameStore(db, self.candles), PredictionLedger(db), SessionStore(db)
        )
        self._model = create_model(config.model, **dict(config.model_config))
        self.timeframes = finest_first(config.timeframes or self._model.timeframes)
        unknown = sorted(set(self.timeframes) - set(self._model.timeframes))
        if unknown:
            raise UserInputError(
                f"model {config.model} does not cover {', '.join(unknown)}: "
                f"predict only {', '.join(self._model.timeframes)} or configure its timeframes"
            )
        self.metrics = LoopMetrics()
        self._life = Lifecycle(config.session_id)
        self._predicting = SessionPredictors(config, self.timeframes)
        learns = self._model.learns and config.mode is not TrainingMode.NONE
        keeps = learns and config.record_samples
        checkpoints = CheckpointStore(checkpoint_dir or checkpoint_dir_for(db.path), clock, keep=3)
        self._writes = SessionWrites(
            db, stores, checkpoints, config.session_id, clock, writer=writer,
            foreground=bus.foreground,
        )  # fmt: skip
        # background work (training, its samples' follow-up) yields to the bus's ticks
        fg = None if config.synchronous_training else bus.foreground
        self._training = TrainingHandoff(
            self._model, config, clock, stores.frames, lambda r: self.metrics.on_train(r.ok),
            SessionSamples(db, clock, self.candles, yield_to=fg) if keeps else None,
            yield_to=fg,
            presave=self._writes.presave,
        )  # fmt: skip
        self._resolution = Resolution(config.threshold, self._training.policy)
        self._subs: list[Subscription] = []
        self._unidle: Callable[[], None] | None = None
        # the bus thread handles events while the API thread may query or label: one at a time
        self._lock = threading.RLock()

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def state(self) -> SessionState:
        """Return where the session is in its life (``domain.session_state``)."""
        return self._life.state

    @property
    def reason(self) -> str | None:
        """Return why the session failed, or None."""
        return self._life.reason

    @property
    def running(self) -> bool:
        """Tell whether the session is running (started, not stopping)."""
        return self._life.state is SessionState.RUNNING

    def start(self) -> LoopSession:
        """Check the data, resume (checkpoint, pending predictions), subscribe; return self.

        Raise ``IllegalTransitionError`` unless the session is new. If starting fails, the
        session is ``failed`` (the error is its reason), its threads are let go and the error
        raised.
        """
        self._life.move(SessionState.STARTING)
        now = self.clock.now_ms()
        try:
            self._start(now)
        except BaseException as exc:
            self._release(finish=False)
            self._failed(exc, now)
            raise
        self._life.move(SessionState.RUNNING)
        self._stores.sessions.set_status(self.config.session_id, SessionState.RUNNING, now)
        self.metrics.started()
        return self

    def _start(self, now: int) -> None:
        cfg = self.config
        if cfg.torch_threads is not None:
            torch.set_num_threads(cfg.torch_threads)
        self._training.steps.train_steps = self._writes.resume(
            self._model, self.kind, cfg.to_json(), now
        )
        self._training.start()
        self._predicting.open(
            self._model, self._training.snapshot, self.candles, now, shared_by=self.bus
        )
        self._recover(now)
        for symbol in cfg.symbols:
            for tf in self._model.timeframes:
                self._subs.append(self.bus.subscribe(candle_topic(symbol, tf), self.on_candle))
            for tf in self.timeframes:
                self._subs.append(self.bus.subscribe(pivot_topic(symbol, tf), self.on_pivot))
        if cfg.flush_every == 1:
            self._unidle = self.bus.on_idle(self._on_idle)
            collector.hold()  # live ticks: what exists now leaves the collector's full passes

    def _recover(self, now: int) -> None:
        """Take back the pending predictions and the decisions already made."""
        stores, sid = self._stores, self.config.session_id
        pending = stores.ledger.pending(sid)
        self._writes.open(pending)
        self._predicting.resume(stores.ledger.last_decisions(sid))
        learner = self._model.name if self._model.learns else None
        changed = self._resolution.recover(pending, self.candles, stores.frames, learner, now)
        for rec in changed:
            self._writes.mark(rec)
        self.metrics.recovered = len(changed)
        if changed:
            self.flush()

    def stop(
        self,
        *,
        status: SessionState = SessionState.STOPPED,
        summary: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Unsubscribe, finish training, flush everything (with its checkpoint), mark the row.

        The session ends in ``status``: stopped, finished (see ``finish``) or failed (``reason``
        says why). Raise ``IllegalTransitionError`` unless it runs. If the last flush fails,
        the session is failed (the error is its reason) and the error raised.
        """
        end = SessionState(status)
        if end not in STOP_STATES:
            raise ValueError(f"a session stops as {', '.join(sorted(STOP_STATES))}, not {end}")
        self._life.move(SessionState.STOPPING)
        try:
            self._release(finish=True)
        except BaseException as exc:
            self._failed(exc, self.clock.now_ms())
            raise
        self._life.move(end, reason)
        if end is SessionState.FAILED:
            summary = {**(summary or {}), "reason": self._life.reason}
        self._stores.sessions.set_status(self.config.session_id, end, self.clock.now_ms(), summary)

    def finish(self, summary: dict[str, Any]) -> None:
        """Stop as a completed run (a replay that reached its end)."""
        self.stop(status=SessionState.FINISHED, summary=summary)

    def _release(self, *, finish: bool) -> None:
        """Unsubscribe, stop training (``finish``: its queued steps first, then flush all)."""
        for sub in self._subs:
            sub.cancel()
        self._subs = []
        if self._unidle is not None:
            self._unidle()
            self._unidle = None
            collector.release()
        self._training.stop(finish=finish)
        try:
            if finish:
                self.flush()
        finally:
            self._predicting.close()
            self._writes.close()

    def _failed(self, exc: BaseException, now: int) -> None:
        """Go to ``failed`` with ``exc`` as the reason, and say so in the session's row."""
        reason = str(exc) if isinstance(exc, GhostcandleError) else f"{type(exc).__name__}: {exc}"
        self._life.move(SessionState.FAILED, reason)
        try:  # the row may not exist yet, or the database be what failed: keep the first error
            self._stores.sessions.set_status(
                self.config.session_id, SessionState.FAILED, now, {"reason": reason}
            )
        except Exception:
            log.exception("could not mark session %s failed", self.config.session_id)

    # -- events ---------------------------------------------------------------------------------
    def on_candle(self, event: CandleCompletionEvent) -> None:
        """Handle one closed candle (see the module doc)."""
        with self._lock:
            self._on_candle(event)

    def _on_candle(self, event: CandleCompletionEvent) -> None:
        now, t, writes = self.clock.now_ms(), event.candle.close_time, self._writes
        if writes.due(t, self.config.flush_every):
            self._flush()
        self._predicting.learn(event)
        self._training.on_candle(event.candle)  # before a batch its resolution may train
        if self._training.samples is not None:
            self._training.samples.on_candle(t)
        for rec in self._resolution.on_candle(event, now):
            writes.mark(rec)
            self.metrics.on_resolved(rec)
        self._expire(now)
        if self._predicting.due(event):
            for made in self._predicting.predict(event, now):
                writes.mark(made.record)
                writes.frame(made.frame, event.timeframe)
                self._resolution.add(made, event.timeframe)
                self.metrics.predictions += 1
        writes.handled(t)

    def _on_idle(self) -> None:
        """Hand what was handled since the last flush to the writer as one job (live, the bus
        calls it once a burst of candles is handled: a tick is one job)."""
        with self._lock:
            if self._writes.held:
                self._flush()

    def expire_now(self) -> int:
        """Expire what has waited past its grace period by the clock's time; return how many."""
        with self._lock:
            return self._expire(self.clock.now_ms())

    def _expire(self, now: int) -> int:
        expired = self._resolution.expire(now)
        for rec in expired:
            self._writes.mark(rec)
        self.metrics.expired += len(expired)
        return len(expired)

    def on_pivot(self, event: PivotEvent) -> None:
        """Hand a confirmed pivot to the coordinator (frames decided at its candle)."""
        with self._lock:
            self._resolution.on_pivot(event)

    def label(self, symbol: str, timeframe: str, action: Action) -> FrameRef:
        """Train the current candle's frame with ``action`` (manual mode); return the frame."""
        with self._lock:
            frame = self._resolution.latest(symbol, timeframe)
            if frame is None:
                raise DataMissingError(
                    f"no prediction of {symbol} {timeframe} yet: wait for a candle to close"
                )
            self._training.label(frame, timeframe, action)
            return frame

    # -- persistence ----------------------------------------------------------------------------
    def flush(self) -> None:
        """Write buffered predictions, frames, step records and progress; wait until committed."""
        with self._lock:
            self._flush()
        self.wait_written()

    def _flush(self) -> None:
        self._writes.flush(self._training.take())

    def wait_written(self, timeout_s: float | None = None) -> bool:
        """Wait until everything handed to the writer so far is committed.

        Return False if ``timeout_s`` passed first; raise ``OperationalError`` if a write failed.
        """
        return self._writes.wait(timeout_s)

    # -- queries --------------------------------------------------------------------------------
    @property
    def ledger(self) -> PredictionLedger:
        """Return the prediction ledger (``get`` also sees rows not committed yet)."""
        return self._stores.ledger

    @property
    def predictors(self) -> list[Predictor]:
        """Return the session's predictors: the learning model first, then the baselines."""
        return self._predicting.predictors

    @property
    def resolver(self) -> Resolver:
        """Return the resolver (its ``pending()`` are the predictions waiting for a target)."""
        return self._resolution.resolver

    @property
    def trainer(self) -> Trainer | None:
        """Return the learning model's trainer (None until started)."""
        return self._training.trainer

    @property
    def policy(self) -> TrainingPolicy:
        """Return the training policy of the session's mode."""
        return self._training.policy

    @property
    def training_backlog(self) -> dict[str, Any]:
        """Return the live batches waiting for the builder and how many gave way to newer ones."""
        return self._training.backlog.status()

    @property
    def predict_until(self) -> int | None:
        """Return the time by which predicted candles must close (a replay's end), or None."""
        return self._predicting.predict_until

    @predict_until.setter
    def predict_until(self, value: int | None) -> None:
        self._predicting.predict_until = value

    @property
    def skipped_missing(self) -> int:
        """Return how many predictions were skipped for a candle missing from a window."""
        return self._predicting.skipped_missing

    @property
    def model_timeframes(self) -> tuple[str, ...]:
        """Return every timeframe the session's models read."""
        return tuple(self._model.timeframes)

    @property
    def events(self) -> int:
        """Return how many candle events this session has handled (over restarts)."""
        return self._writes.events

    def status(self) -> dict[str, Any]:
        """Return the session's state for the API: config, counts, training, checkpoint.

        Only reads: the counts are the session's own, committed or not (nothing is flushed).
        """
        with self._lock:
            counts = self._writes.counts()
        trainer, ckpt = self.trainer, self._writes.checkpoint
        return {
            "session_id": self.config.session_id,
            "kind": self.kind,
            "state": self.state.value,
            "reason": self.reason,
            "running": self.running,
            "model": self.config.model,
            "mode": self.config.mode,
            "symbols": list(self.config.symbols),
            "timeframes": list(self.timeframes),
            "events": self._writes.events,
            "progress_time": self._writes.last_time,
            "predictions": counts,
            "pending_in_memory": len(self._resolution),
            "skipped_missing": self.skipped_missing,
            "model_version": None if trainer is None else trainer.snapshot.version,
            "train_steps": self._training.steps.train_steps,
            "trainer": None if trainer is None else vars(trainer.stats).copy(),
            # live batches waiting for the builder, and those newer ones pushed out
            "training_backlog": self.training_backlog,
            "checkpoint": None
            if ckpt is None
            else {"name": ckpt.name, "path": ckpt.path, "step": ckpt.step},
            "metrics": self.metrics.to_json(),
            "samples": None if (sk := self._training.samples) is None else sk.status(),
            "warnings": self.config.warnings(),
        }

    def recent_predictions(
        self, limit: int = 50, timeframe: str | None = None
    ) -> list[PredictionRecord]:
        """Return the newest stored predictions of this session (of one ``timeframe``).

        What was handled and not yet handed to the writer (live hands a tick over when the bus
        goes idle, after the UI bridge has pushed its predictions) is handed over first, and
        everything waited for: what this returns is committed, and holds what was pushed.
        """
        self._on_idle()
        self.wait_written()
        return self.ledger.recent(self.config.session_id, limit, timeframe=timeframe)

    def model_snapshot(self) -> Model:
        """Return the learning model's last published weights (read-only use)."""
        if self.trainer is None:
            raise OperationalError("session is not started: call start() first")
        return self._training.snapshot()

"""A loop session: predict the next candle at every close, resolve, and train in its mode.

The same object runs live (threaded bus, live clock) and in replay (synchronous bus, replay
clock); the web API starts, stops and queries it. On each ``CandleCompletionEvent``:

1. the window cache learns the candle;
2. predictions that targeted it are resolved, and their frames handed to the coordinator
   (hence to the training policy); predictions past their grace period expire;
3. if the timeframe is predicted by the session, every model (the learning one through the
   trainer's last published snapshot, and the baselines) predicts its next candle; the frame
   reference and the pending prediction are recorded;
4. every ``flush_every`` events (and at once with 1) the ledger rows, the frames, the
   training-step records, the progress marker and the weights of the last recorded good step
   go, as one job, to the ``LedgerWriter``, which saves the checkpoint and then commits the
   rest, with a reference to it, in one transaction, grouped with whatever else is queued by
   then (the other sessions sharing the writer, the other symbols and timeframes of the same
   tick). The event handler does not wait for the commit: ``flush()`` (and every query) does.

The committed session row is the session's one durable progress: events, good steps and the
checkpoint holding exactly those steps. On start the session resumes from it: the model loads
the checkpoint the row references (none: fresh seeded weights, or the seed of its series for a
new session, see ``seed_checkpoint``; other files are ignored), the pending predictions are
resolved from candles stored meanwhile (or expired), and the frames still pending wait for
their target again to be trained on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.engine.loop.baseline_fit import fitted_baseline
from ghostcandle.engine.loop.config import SessionConfig, finest_first
from ghostcandle.engine.loop.coordinator import InferenceTrainingCoordinator
from ghostcandle.engine.loop.ledger_writer import LedgerWriter
from ghostcandle.engine.loop.metrics import LoopMetrics
from ghostcandle.engine.loop.predictor import Predictor
from ghostcandle.engine.loop.resolver import Resolver
from ghostcandle.engine.loop.window_cache import WindowCache, open_cache
from ghostcandle.engine.loop.writes import (
    CheckpointDue,
    Progress,
    SessionStores,
    SessionWrite,
    StepLog,
)
from ghostcandle.engine.training.batches import SeriesCache, build_batch
from ghostcandle.engine.training.checkpoints import (
    CheckpointInfo,
    CheckpointStore,
    checkpoint_dir_for,
)
from ghostcandle.engine.training.policy import TrainingPolicy, TrainingSample
from ghostcandle.engine.training.trainer import StepReport, Trainer, restore
from ghostcandle.messaging.bus import MessageBus, Subscription
from ghostcandle.models.base import Model
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore, MissingCandlesError
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import PredictionLedger, PredictionRecord
from ghostcandle.store.sessions import SessionRow, SessionStore

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
        self.frames = FrameStore(db, self.candles)
        self.ledger = PredictionLedger(db)
        self.sessions = SessionStore(db)
        self._stores = SessionStores(self.frames, self.ledger, self.sessions)
        self.resolver = Resolver(config.threshold)
        self.coordinator = InferenceTrainingCoordinator()
        self.metrics = LoopMetrics()
        self._checkpoints = CheckpointStore(
            checkpoint_dir or checkpoint_dir_for(db.path), clock, keep=3
        )
        #: the checkpoint the committed session row references (None: fresh weights)
        self._checkpoint: CheckpointInfo | None = None
        self._model = create_model(config.model, **dict(config.model_config))
        self.timeframes = finest_first(config.timeframes or self._model.timeframes)
        unknown = sorted(set(self.timeframes) - set(self._model.timeframes))
        if unknown:
            raise UserInputError(
                f"model {config.model} does not cover {', '.join(unknown)}: "
                f"predict only {', '.join(self._model.timeframes)} or configure its timeframes"
            )
        self.trainer: Trainer | None = None
        self.policy = TrainingPolicy(
            config.mode, self._submit, config.schedules, config.threshold, config.seed
        )
        self.coordinator.add_subscriber(self.policy)
        self.predictors: list[Predictor] = []
        self._subs: list[Subscription] = []
        self._dirty: dict[str, PredictionRecord] = {}
        # ids stored while pending: their outcome is an UPDATE, anything else an INSERT
        self._stored: set[str] = set()
        # newest decision per (symbol, timeframe): a repeated candle is never predicted twice
        self._decided: dict[tuple[str, str], int] = {}
        self._new_frames: list[tuple[FrameRef, str]] = []
        self._steps = StepLog(config.session_id, self._model.name)
        # the bus thread handles events while the API thread may query or label: one at a time
        self._lock = threading.RLock()
        self._builder: ThreadPoolExecutor | None = None
        # used by the builder thread only
        self._batch_candles = SeriesCache(self.candles)
        # None: the session starts (and closes) its own writer
        self._writer = writer
        self._own_writer = writer is None
        self._ticket = 0
        self._write_errors: list[str] = []
        self._events = 0
        self._since_flush = 0
        self._last_time: int | None = None
        # predictions per status, committed or not (None until started: read the ledger)
        self._counts: dict[str, int] | None = None
        self._life = Lifecycle(config.session_id)
        self.skipped_missing = 0
        #: predict only candles that close by this time (a replay's end); None = no limit
        self.predict_until: int | None = None
        self.cache: WindowCache | None = None

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

        Raise ``IllegalTransitionError`` unless the session is new. If starting fails, the session
        is ``failed`` (the error is its reason), its threads are released and the error raised.
        """
        self._life.move(SessionState.STARTING)
        now = self.clock.now_ms()
        try:
            self._start(now)
        except BaseException as exc:
            self._release(flush=False)
            self._failed(exc, now)
            raise
        self._life.move(SessionState.RUNNING)
        self.sessions.set_status(self.config.session_id, SessionState.RUNNING, now)
        self.metrics.started()
        return self

    def _start(self, now: int) -> None:
        cfg = self.config
        if cfg.torch_threads is not None:
            torch.set_num_threads(cfg.torch_threads)
        self._resume(self.sessions.get(cfg.session_id), now)
        # no checkpoints of its own: each flush carrying good steps checkpoints their weights
        self.trainer = Trainer(
            self._model,
            clock=self.clock,
            step_timeout_s=cfg.step_timeout_s,
            checkpoint_key=cfg.session_id,
        ).start()
        trainer = self.trainer
        self.predictors = [
            Predictor(cfg.session_id, lambda: trainer.snapshot.model, grace_ms=cfg.grace)
        ]
        for name in (b for b in cfg.baselines if b != cfg.model):
            base = create_model(
                name,
                timeframes=list(self._model.timeframes),
                windows={tf: min(cfg.baseline_window, n) for tf, n in self._model.windows.items()},
            )
            base = fitted_baseline(base, self.candles, cfg.symbols, now, cfg.threshold)
            self.predictors.append(Predictor(cfg.session_id, _fixed(base), grace_ms=cfg.grace))
        self._check_data(now)
        self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-builder")
        if self._writer is None:
            self._writer = LedgerWriter(self.db)
        self._recover(now)
        for symbol in cfg.symbols:
            for tf in self._model.timeframes:
                self._subs.append(self.bus.subscribe(candle_topic(symbol, tf), self.on_candle))
            for tf in self.timeframes:
                self._subs.append(self.bus.subscribe(pivot_topic(symbol, tf), self.on_pivot))

    def _resume(self, row: SessionRow | None, now: int) -> None:
        """Load the weights of the committed progress (or the series' seed); mark the row."""
        cfg, key = self.config, self.config.session_id
        if row is None:
            seed = self._checkpoints.seed(key)
            if seed is not None:
                restore(self._model, self._checkpoints.load(seed), seed.path)
                self._checkpoint = seed
            self.sessions.create(
                key,
                self.kind,
                cfg.to_json(),
                now,
                checkpoint=None if seed is None else seed.name,
                start_step=0 if seed is None else seed.step,
                status=SessionState.STARTING,
            )
        else:
            if row.checkpoint_path is not None:
                info = self._checkpoints.find(key, row.checkpoint_path)
                if info is None:
                    raise DataMissingError(
                        f"checkpoint {row.checkpoint_path} of session {key} is missing or "
                        f"damaged in {self._checkpoints.directory}: put it back, or start a "
                        "new session id"
                    )
                restore(self._model, self._checkpoints.load(info), info.path)
                self._checkpoint = info
            self._events, self._steps.train_steps = row.events, row.train_steps
            self._last_time = row.progress_time
        self._checkpoints.pin(key, None if self._checkpoint is None else self._checkpoint.name)

    def _check_data(self, now: int) -> None:
        needed: dict[str, int] = {}
        for p in self.predictors:
            for tf, n in p.windows.items():
                needed[tf] = max(needed.get(tf, 0), n)
        self.cache = open_cache(self.candles, self.config.symbols, needed, now)

    def _recover(self, now: int) -> None:
        pending = self.ledger.pending(self.config.session_id)
        self._counts = self.ledger.counts(self.config.session_id)
        self._stored = {r.prediction_id for r in pending}
        self._decided = self.ledger.last_decisions(self.config.session_id)
        changed = self.resolver.recover(pending, self.candles, now)
        for rec in changed:
            self._mark(rec)
        self.metrics.recovered = len(changed)
        # the learning model's frames still pending train when their target closes, as they
        # would have without the restart
        for rec in self.resolver.pending():
            if rec.model == self._model.name and self._model.learns:
                try:
                    self.coordinator.register(rec.timeframe, self.frames.get(rec.frame_id))
                except DataMissingError:  # its frame was never stored: it cannot train
                    log.warning("pending prediction %s has no stored frame", rec.prediction_id)
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
        says why). Raise ``IllegalTransitionError`` unless it runs. If the last flush fails, the
        session is failed (the error is its reason) and the error raised.
        """
        end = SessionState(status)
        if end not in STOP_STATES:
            raise ValueError(f"a session stops as {', '.join(sorted(STOP_STATES))}, not {end}")
        self._life.move(SessionState.STOPPING)
        try:
            self._release(flush=True)
        except BaseException as exc:
            self._failed(exc, self.clock.now_ms())
            raise
        self._life.move(end, reason)
        if end is SessionState.FAILED:
            summary = {**(summary or {}), "reason": self._life.reason}
        self.sessions.set_status(self.config.session_id, end, self.clock.now_ms(), summary)

    def finish(self, summary: dict[str, Any]) -> None:
        """Stop as a completed run (a replay that reached its end)."""
        self.stop(status=SessionState.FINISHED, summary=summary)

    def _release(self, *, flush: bool) -> None:
        """Unsubscribe, finish training, flush (if asked) and let go of the threads."""
        for sub in self._subs:
            sub.cancel()
        self._subs = []
        if self._builder is not None:
            self._builder.shutdown(wait=True)
        if self.trainer is not None:
            if flush:
                self.trainer.flush(timeout_s=self.config.step_timeout_s * 4)
            self.trainer.stop(timeout_s=self.config.step_timeout_s)
        try:
            if flush:
                self.flush()
        finally:
            if self._own_writer and self._writer is not None:
                self._writer.close()
                self._writer = None

    def _failed(self, exc: BaseException, now: int) -> None:
        """Go to ``failed`` with ``exc`` as the reason, and say so in the session's row."""
        reason = str(exc) if isinstance(exc, GhostcandleError) else f"{type(exc).__name__}: {exc}"
        self._life.move(SessionState.FAILED, reason)
        try:  # the row may not exist yet, or the database be what failed: keep the first error
            self.sessions.set_status(
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
        now = self.clock.now_ms()
        t = event.candle.close_time
        if (
            self._last_time is not None
            and t > self._last_time
            and (self._since_flush >= self.config.flush_every)
        ):
            self._flush()
        assert self.cache is not None, "start() the session first"
        self.cache.on_candle(event.candle)
        for rec in self.resolver.on_candle(event.candle, now):
            self._mark(rec)
            self.metrics.on_resolved(rec)
        self.coordinator.on_candle_completion(event)
        self._expire(now)
        if (
            event.timeframe in self.timeframes
            and event.symbol in self.config.symbols
            and event.time > self._decided.get((event.symbol, event.timeframe), -1)
            and (
                self.predict_until is None
                or event.time + duration_ms(event.timeframe) <= self.predict_until
            )
        ):
            self._predict(event, now)
        self._events += 1
        self._since_flush += 1
        self._last_time = t
        if self.config.flush_every == 1:
            self._flush()

    def expire_now(self) -> int:
        """Expire what has waited past its grace period by the clock's time; return how many."""
        with self._lock:
            return self._expire(self.clock.now_ms())

    def _expire(self, now: int) -> int:
        expired = self.resolver.expire(now)
        for rec in expired:
            self._mark(rec)
            self.coordinator.forget_target(rec.symbol, rec.timeframe, rec.target_open_time)
        self.metrics.expired += len(expired)
        return len(expired)

    def _predict(self, event: CandleCompletionEvent, now: int) -> None:
        assert self.cache is not None
        self._decided[(event.symbol, event.timeframe)] = event.time
        for p in self.predictors:
            try:
                made = p.predict(self.cache, event.symbol, event.timeframe, event.time, now)
            except MissingCandlesError as exc:
                self.skipped_missing += 1
                log.debug("no prediction of %s at %s: %s", p.name, event.time, exc)
                continue
            self._mark(made.record)
            self._new_frames.append((made.frame, event.timeframe))
            self.resolver.add(made.record)
            if made.learns:
                self.coordinator.register(event.timeframe, made.frame)
            self.metrics.predictions += 1

    def on_pivot(self, event: PivotEvent) -> None:
        """Hand a confirmed pivot to the coordinator (frames decided at its candle)."""
        with self._lock:
            self.coordinator.on_pivot_event(event)

    def label(self, symbol: str, timeframe: str, action: Action) -> FrameRef:
        """Train the current candle's frame with ``action`` (manual mode); return the frame."""
        with self._lock:
            frame = self.coordinator.latest(symbol, timeframe)
            if frame is None:
                raise DataMissingError(
                    f"no prediction of {symbol} {timeframe} yet: wait for a candle to close"
                )
            self.policy.manual(frame, timeframe, action)
            return frame

    # -- training -------------------------------------------------------------------------------
    def _submit(self, samples: Sequence[TrainingSample], reason: str) -> None:
        if self._builder is None or self.trainer is None:
            return
        now = self.clock.now_ms()
        fut = self._builder.submit(self._train, list(samples), reason, now)
        if self.config.synchronous_training:
            inner = fut.result()
            if inner is not None:
                inner.result()

    def _train(
        self, samples: list[TrainingSample], reason: str, now: int
    ) -> Future[StepReport] | None:
        assert self.trainer is not None
        built = build_batch(
            self.frames,
            samples,
            self._model.windows,
            self._model.timeframes,
            now,
            self._batch_candles,
        )
        if built is None:
            return None
        fut = self.trainer.submit(built.batch, source=reason)
        ids = built.frame_ids

        def done(f: Future[StepReport]) -> None:
            r = f.result()
            self._steps.record(r, now, reason, ids)
            self.metrics.on_train(r.ok)

        fut.add_done_callback(done)
        return fut

    # -- persistence ----------------------------------------------------------------------------
    def _mark(self, rec: PredictionRecord) -> None:
        """Keep ``rec`` for the next flush; count it under its new status."""
        pid = rec.prediction_id
        before = self._dirty.get(pid)
        was = before.status if before is not None else "pending" if pid in self._stored else None
        if self._counts is not None:
            if was is not None:
                self._counts[was] -= 1
            self._counts[rec.status] = self._counts.get(rec.status, 0) + 1
        self._dirty[pid] = rec

    def flush(self) -> None:
        """Write buffered predictions, frames, step records and progress; wait until committed."""
        with self._lock:
            self._flush()
        self.wait_written()

    def wait_written(self, timeout_s: float | None = None) -> bool:
        """Wait until everything handed to the writer so far is committed.

        Return False if ``timeout_s`` passed first; raise ``OperationalError`` if a write failed.
        """
        done = True if self._writer is None else self._writer.wait(self._ticket, timeout_s)
        self._raise_write_errors()
        return done

    def _raise_write_errors(self) -> None:
        if self._write_errors:
            first, self._write_errors = self._write_errors[0], []
            raise OperationalError(
                f"writing the ledger of session {self.config.session_id} failed ({first}): "
                "stop the session and check the database file (disk full? another process?)"
            )

    def _on_write_error(self, exc: BaseException) -> None:
        self._write_errors.append(f"{type(exc).__name__}: {exc}")

    def _committed(self, due: CheckpointDue | None) -> None:
        """Note the checkpoint a committed job referenced: resume point, never pruned."""
        if due is not None and due.saved:
            self._checkpoint = due.saved[0]
            self._checkpoints.pin(self.config.session_id, self._checkpoint.name)

    def _flush(self) -> None:
        self._raise_write_errors()
        steps, train_steps, snapshot = self._steps.take()
        sid = self.config.session_id
        due = None if snapshot is None else CheckpointDue(sid, self._checkpoints, sid, snapshot)
        new: list[PredictionRecord] = []
        outcomes: list[PredictionRecord] = []
        for rec in self._dirty.values():
            if rec.prediction_id in self._stored:
                outcomes.append(rec)
            else:
                new.append(rec)
        frames = self._new_frames
        self._dirty, self._new_frames = {}, []
        write = SessionWrite(
            self._stores,
            frames,
            new,
            outcomes,
            steps,
            [
                Progress(
                    self.config.session_id,
                    self._last_time,
                    self._events,
                    train_steps,
                    self.clock.now_ms(),
                )
            ],
            [] if due is None else [due],
        )
        changed = new + outcomes
        if self._writer is None:  # not started (or stopped): write here and now
            write.prepare()
            with self.db.transaction() as con:
                write(con)
            self._committed(due)
        else:
            self.ledger.hold(changed)

            def written() -> None:
                self.ledger.release(changed)
                self._committed(due)

            self._ticket = self._writer.submit(
                write, on_error=self._on_write_error, on_written=written
            )
        self._since_flush = 0
        for rec in new:
            if rec.status == "pending":
                self._stored.add(rec.prediction_id)
        for rec in outcomes:
            self._stored.discard(rec.prediction_id)

    # -- queries --------------------------------------------------------------------------------
    @property
    def model_timeframes(self) -> tuple[str, ...]:
        """Return every timeframe the session's models read."""
        return tuple(self._model.timeframes)

    @property
    def events(self) -> int:
        """Return how many candle events this session has handled (over restarts)."""
        return self._events

    def status(self) -> dict[str, Any]:
        """Return the session's state for the API: config, counts, training, checkpoint.

        Only reads: the counts are the session's own, committed or not (nothing is flushed).
        """
        with self._lock:
            held = None if self._counts is None else dict(self._counts)
        counts = self.ledger.counts(self.config.session_id) if held is None else held
        trainer, ckpt = self.trainer, self._checkpoint
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
            "events": self._events,
            "progress_time": self._last_time,
            "predictions": counts,
            "pending_in_memory": len(self.resolver),
            "skipped_missing": self.skipped_missing,
            "model_version": None if trainer is None else trainer.snapshot.version,
            "train_steps": self._steps.train_steps,
            "trainer": None if trainer is None else vars(trainer.stats).copy(),
            "checkpoint": None
            if ckpt is None
            else {"name": ckpt.name, "path": ckpt.path, "step": ckpt.step},
            "metrics": self.metrics.to_json(),
            "warnings": self.config.warnings(),
        }

    def recent_predictions(self, limit: int = 50) -> list[PredictionRecord]:
        """Return the newest predictions of this session (stored ones), newest first.

        Waits for what was handed to the writer (live hands over every event), flushes nothing.
        """
        self.wait_written()
        return self.ledger.recent(self.config.session_id, limit)

    def model_snapshot(self) -> Model:
        """Return the learning model's last published weights (read-only use)."""
        if self.trainer is None:
            raise OperationalError("session is not started: call start() first")
        return self.trainer.snapshot.model


def _fixed(model: Model) -> Callable[[], Model]:
    """Return a snapshot function for a model that never changes (a baseline)."""
    return lambda: model

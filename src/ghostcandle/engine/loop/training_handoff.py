"""A session's training hand-off: policy batches -> batch builder thread -> the trainer.

The policy decides, on the bus thread, which frames to learn and when; building a batch (reading
the frames' candles back from the store) happens on one builder thread, so the event handler
never waits for it; the trainer applies the steps one at a time on its own thread. Live, the
batches waiting for the builder are bounded (``batch_backlog.py``: the oldest gives way when
training falls behind), and the builder makes the next batch only once the trainer has room for
it (fewer than ``TRAINER_AHEAD`` steps unfinished), so what is trained is the newest. The candles
of the session's events are handed to the builder (``on_candle``), which extends its candle
cache with those closed by a batch's time instead of reading them back from the store. Every
finished step (good or not) lands in the step log, which the next flush takes. Before a batch
is built, its samples are recorded in the sample registry and read back verified
(``sample_keeping.py``): only trainable ones are trained. With
``synchronous_training`` a batch is built and trained before the handler goes on (a repeatable
backtest).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from ghostcandle.domain.actions import Action
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.clock import Clock
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.engine.loop.batch_backlog import BatchBacklog, WaitingBatch
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.sample_keeping import SessionSamples
from ghostcandle.engine.loop.writes import StepLog, StepsTaken
from ghostcandle.engine.training.batches import build_batch
from ghostcandle.engine.training.policy import TrainingPolicy, TrainingSample
from ghostcandle.engine.training.recording import session_recorder
from ghostcandle.engine.training.series_cache import SeriesCache
from ghostcandle.engine.training.trainer import Snapshot, StepReport, Trainer
from ghostcandle.messaging.foreground import Foreground, lower_priority
from ghostcandle.models.base import Model
from ghostcandle.models.depth_input import depth_window
from ghostcandle.store.frames import FrameStore

#: The most event candles held for the builder between two batches.
_SEEN = 4096

#: The builder makes a batch once fewer than this many steps are unfinished (one running, one
#: ready), so a step never waits behind a queue of batches built from older frames.
TRAINER_AHEAD = 2
#: How long the builder waits for the trainer at a time before it checks for a stop.
_ROOM_POLL_S = 0.5

log = logging.getLogger(__name__)

#: Called on the trainer's thread with every finished step.
OnStep = Callable[[StepReport], None]


class TrainingHandoff:
    """Turn the policy's batches into trainer steps for one session's learning model."""

    def __init__(
        self,
        model: Model,
        config: SessionConfig,
        clock: Clock,
        frames: FrameStore,
        on_step: OnStep,
        samples: SessionSamples | None = None,
        yield_to: Foreground | None = None,
        presave: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.config, self.clock = config, clock
        #: building a batch and its step wait for a quiet moment of this foreground (the
        #: bus's: a live tick in flight); never with synchronous training, which the
        #: foreground itself waits for
        self._yield_to = None if config.synchronous_training else yield_to
        #: called on the trainer's thread with a good step's snapshot before the step is
        #: recorded and its weights published: the session saves the checkpoint a flush will
        #: carry, so a tick that predicts with those weights never waits for the file
        self._presave = None if config.synchronous_training else presave
        #: records and verifies every sample before it is trained (None: train them as given)
        self.samples = samples
        self.policy = TrainingPolicy(
            config.mode, self._submit, config.schedules, config.threshold, config.seed
        )
        #: the finished steps since the last flush (and the good ones over the session's life)
        self.steps = StepLog(config.session_id, model.name)
        self.trainer: Trainer | None = None
        self._model = model
        self._frames = frames
        # read by the builder thread only
        self._series = SeriesCache(frames.candles)
        # closed candles from the bus thread, taken by the builder (bounded: a candle that
        # falls off is read from the store instead)
        self._seen: deque[Candle] = deque(maxlen=_SEEN)
        self._learns = model.learns and self.policy.mode is not TrainingMode.NONE
        self._builder: ThreadPoolExecutor | None = None
        #: live batches waiting for the builder (synchronous training waits for each instead)
        self.backlog = BatchBacklog()
        self._stopping = False
        self._on_step = on_step

    def start(self) -> Trainer:
        """Start the trainer and the builder thread; return the trainer.

        The trainer checkpoints nothing on its own: each flush carrying good steps checkpoints
        their weights (``engine/loop/writes.py``).
        """
        self.trainer = Trainer(
            self._model,
            clock=self.clock,
            step_timeout_s=self.config.step_timeout_s,
            checkpoint_key=self.config.session_id,
            # synchronous: no prediction runs beside a step, so nothing needs it to yield
            lower_priority=not self.config.synchronous_training,
            # every applied step is recorded so it can be replayed (``train replay-step``)
            recorder=session_recorder(self._frames.db, self.config.session_id, self.clock),
            yield_to=self._yield_to,
        ).start()
        # building and judging batches is training work: nicer than the tick, as the trainer
        self._builder = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="batch-builder",
            initializer=None if self._yield_to is None else lower_priority,
        )
        if self.samples is not None:
            self.samples.start()
        return self.trainer

    def take(self) -> StepsTaken:
        """Return the finished steps since the last call, with the samples kept for them."""
        taken = self.steps.take()  # first: every step taken had its samples kept by now
        kept = None if self.samples is None else self.samples.take()
        return taken if kept is None else taken._replace(samples=kept)

    def snapshot(self) -> Model:
        """Return the learning model's last published weights (read-only use)."""
        assert self.trainer is not None, "start() the session first"
        return self.trainer.snapshot.model

    def on_candle(self, candle: Candle) -> None:
        """Note a closed candle (stored before its event) for the next batches (O(1))."""
        if self._learns:
            self._seen.append(candle)

    def label(self, frame: FrameRef, timeframe: str, action: Action) -> None:
        """Train ``frame`` with ``action`` now (manual mode; other modes refuse)."""
        self.policy.manual(frame, timeframe, action)

    def stop(self, *, finish: bool) -> None:
        """Stop building and training; with ``finish``, let the batches waiting and the steps
        queued finish first."""
        if not finish:
            self._stopping = True
            self.backlog.clear()
        if self._builder is not None:
            self._builder.shutdown(wait=True)
        if self.trainer is not None:
            if finish:
                self.trainer.flush(timeout_s=self.config.step_timeout_s * 4)
            self.trainer.stop(timeout_s=self.config.step_timeout_s)
        if self.samples is not None:
            self.samples.stop()

    def _submit(self, samples: Sequence[TrainingSample], reason: TrainingSource) -> None:
        if self._builder is None or self.trainer is None:
            return
        now = self.clock.now_ms()
        if not self.config.synchronous_training:
            if self.backlog.put(WaitingBatch(tuple(samples), reason, now)):
                self._builder.submit(self._drain)
            return
        inner = self._builder.submit(self._train, list(samples), reason, now).result()
        if inner is not None:
            inner.result()

    def _drain(self) -> None:
        """Build and hand over the waiting batches, oldest first, until none waits (on the
        builder's thread; ``BatchBacklog.put`` starts one drain at a time). Each is taken only
        once the trainer has room and the tick is quiet: what arrives meanwhile can still push
        an older batch out."""
        while True:
            if not self._room():  # stopping: what waits is dropped
                self.backlog.clear()
            elif self._yield_to is not None:
                self._yield_to.yield_to()
            waiting = self.backlog.take()
            if waiting is None:
                return
            try:
                self._train(list(waiting.samples), waiting.reason, waiting.now)
            except Exception:  # a batch that cannot be built must not stop the next ones
                log.exception("session %s: a training batch failed", self.config.session_id)

    def _room(self) -> bool:
        """Wait until the trainer has room for a step; False if the session stops meanwhile."""
        trainer = self.trainer
        while trainer is not None and not self._stopping:
            if trainer.wait_for_room(TRAINER_AHEAD, _ROOM_POLL_S):
                return True
        return False

    def _train(
        self, samples: list[TrainingSample], reason: TrainingSource, now: int
    ) -> Future[StepReport] | None:
        assert self.trainer is not None
        model = self._model
        seen = self._seen
        while seen and seen[0].close_time <= now:  # only candles known at the batch's time
            self._series.extend(seen.popleft())
        if self.samples is not None:
            samples = self.samples.vet(samples, now).samples
            if not samples:
                return None
        built = build_batch(
            self._frames,
            samples,
            model.windows,
            model.timeframes,
            now,
            self._series,
            depth=depth_window(model),
        )
        if built is None:
            return None
        ids = built.frame_ids

        presave = self._presave

        def record(report: StepReport) -> None:  # before its weights can predict: a flush
            if presave is not None and report.snapshot is not None:
                presave(report.snapshot)  # on disk before a flush can take the step
            self.steps.record(report, now, reason, ids)  # never commits their predictions alone

        fut = self.trainer.submit(built.batch, source=reason, before_publish=record)
        fut.add_done_callback(lambda f: self._on_step(f.result()))
        return fut

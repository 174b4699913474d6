"""Replay as live: stored candles become ``CandleCompletionEvent``s on a synchronous bus.

Events of every timeframe are published in close-time order (at equal close time, finest
timeframe first, then symbols in the given order), the ``ReplayClock`` moved to each close
before its event, so a replay is deterministic. Candles are read in chunks, so memory stays
flat however long the range. A replay only predicts candles that close inside its range, so
every prediction it makes can be resolved (or expires where the data has a gap).

A replay stopped half-way (even by ``kill -9``) resumes when run again with the same session
id: the events already recorded in the session's progress are skipped, the trainer reloads the
last checkpoint, and the pending predictions are taken back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ghostcandle.domain.clock import Clock, ReplayClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import candle_topic
from ghostcandle.domain.timeframes import TIMEFRAMES, format_time
from ghostcandle.engine.evaluation.session_evaluation import evaluate_stored
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.engine.training.start_checkpoint import StartCheckpoint, seed_checkpoint
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database

log = logging.getLogger(__name__)

#: Indicator rows a replay's structure engine holds before one commit (a backtest's holds as
#: many): a commit per candle cost more than the candle's prediction.
STRUCTURE_FLUSH_EVERY = 1000


@dataclass(frozen=True)
class ReplayRequest:
    """A replay: the session to run, the range, and how fast (None = as fast as possible)."""

    config: SessionConfig
    start: int
    end: int
    speed: float | None = None
    pivots: bool = True
    #: the checkpoint a new session starts from (None: fresh weights or its own progress);
    #: ``config.model_config`` must be the checkpoint's
    start_from: StartCheckpoint | None = None


def run_replay(
    db: Database,
    request: ReplayRequest,
    *,
    checkpoint_dir: str | None = None,
    on_event: Callable[[int], None] | None = None,
    on_summary: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a replay to its end and return its JSON summary.

    ``on_event(n)`` is called after each event published (``n`` so far); ``on_summary(n)`` once
    the loop's last writes are stored, before the session's ledger is evaluated (a long
    replay's summary reads every prediction: the command line says so meanwhile).
    """
    if request.end <= request.start:
        raise UserInputError(
            f"replay range is empty ({format_time(request.start)} .. {format_time(request.end)}): "
            "give --to after --from"
        )
    if request.speed is not None and request.speed <= 0:
        raise UserInputError(f"--speed {request.speed} must be positive (or max)")
    clock = ReplayClock(request.start)
    if request.start_from is not None:
        # a new session starts from the seed of its series; one resumed keeps its progress
        store = CheckpointStore(checkpoint_dir or checkpoint_dir_for(db.path), clock)
        seed_checkpoint(store, request.config.session_id, request.start_from)
    bus = MessageBus()
    session = LoopSession(
        db, request.config, bus, clock, kind="replay", checkpoint_dir=checkpoint_dir
    )
    session.predict_until = request.end
    session.start()
    wants_pivots = request.pivots and request.config.mode.learns_pivots
    structure = _attach_structure(bus, db, session, clock) if wants_pivots else None
    skip = session.events
    t0 = time.perf_counter()
    events = 0
    model_tfs = session.model_timeframes
    first_time: int | None = None
    for i, event in enumerate(
        replay_events(
            session.candles, request.config.symbols, model_tfs, request.start, request.end
        )
    ):
        if i < skip:
            continue
        clock.advance_to(event.time)
        if request.speed is not None:
            first_time = event.time if first_time is None else first_time
            due = (event.time - first_time) / 1000.0 / request.speed
            lag = due - (time.perf_counter() - t0)
            if lag > 0:
                time.sleep(lag)
        bus.publish(candle_topic(event.symbol, event.timeframe), event)
        events += 1
        if on_event is not None:
            on_event(events)
    # the range is over: whatever could not be resolved by now waited its grace period
    clock.advance_to(request.end + max(request.config.grace(tf) for tf in model_tfs) + 1)
    session.expire_now()
    elapsed = time.perf_counter() - t0
    if structure is not None:
        structure.close()
    session.flush()
    if on_summary is not None:
        on_summary(events)
    summary = build_summary(session, events, elapsed)
    session.finish(summary)
    summary["train_steps"] = session.status()["train_steps"]
    return summary


def build_summary(session: LoopSession, events: int, elapsed: float) -> dict[str, Any]:
    """Return the replay summary: counts, training, throughput and the evaluation."""
    counts = session.ledger.counts(session.config.session_id)
    report = evaluate_stored(session.ledger, session.config.session_id, session.config.threshold)
    return {
        "session_id": session.config.session_id,
        "model": session.config.model,
        "mode": session.config.mode,
        "symbols": list(session.config.symbols),
        "timeframes": list(session.timeframes),
        "events": events,
        "events_total": session.events,
        "predictions": sum(counts.values()),
        "resolved": counts["resolved"],
        "expired": counts["expired"],
        "pending": counts["pending"],
        "skipped_missing": session.skipped_missing,
        "train_steps": session.status()["train_steps"],
        "elapsed_s": round(elapsed, 3),
        "candles_per_s": round(events / elapsed, 1) if elapsed > 0 else None,
        "evaluation": report,
    }


def _attach_structure(bus: MessageBus, db: Database, session: LoopSession, clock: Clock) -> Any:
    """Track market structure on the replay bus so pivots arrive as they would live.

    Rapid moves become samples for the session's model (DESIGN.md section 8).
    """
    try:
        from ghostcandle.engine.structure.engine import StructureEngine
    except ImportError:  # market structure not installed in this build: no pivot events
        log.warning("market structure is unavailable: replay runs without pivot events")
        return None
    # indicator rows are batched (pivots and rapid moves are still stored before published)
    engine = StructureEngine(bus, db, flush_every=STRUCTURE_FLUSH_EVERY)
    engine.collect_samples(SampleRegistry(db, clock), session.model_snapshot().windows)
    for symbol in session.config.symbols:
        for tf in session.timeframes:
            if tf in TIMEFRAMES:
                engine.track(symbol, tf)
    return engine

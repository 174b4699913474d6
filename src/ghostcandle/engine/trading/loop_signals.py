"""Backtest signals from the loop itself, candle by candle (always used when it trains).

A ``LoopSession`` is replayed over the stored candles under a ``ReplayClock`` and a
``SessionBroker`` trades the model's predictions of the traded timeframe as they are recorded,
while the session trains in its mode (seeded, synchronous training, so a run is repeatable).
"""

from __future__ import annotations

import tempfile
import uuid
from typing import Any

from ghostcandle.domain.broker import Broker
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import OperationalError
from ghostcandle.domain.events import candle_topic
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.trading.backtest_request import (
    BacktestRequest,
    Progress,
    backtest_schedules,
)
from ghostcandle.engine.trading.paper import SessionBroker
from ghostcandle.engine.training.checkpoints import CheckpointStore
from ghostcandle.engine.training.start_checkpoint import StartCheckpoint, seed_checkpoint
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import FAILED

__all__ = ["loop_signals"]


def loop_signals(
    db: Database,
    req: BacktestRequest,
    candles: list[Candle],
    broker: Broker,
    progress: Progress | None,
    start: StartCheckpoint | None = None,
) -> tuple[int, str]:
    """Replay a loop session over ``candles`` with ``broker`` following it.

    Return the number of signals traded and the session's id (its predictions and training
    steps stay recorded under it).
    """
    session_id = f"backtest-{uuid.uuid4().hex[:12]}"
    config = SessionConfig(
        session_id=session_id,
        model=req.model,
        model_config=req.model_settings() if start is None else dict(start.config),
        symbols=(req.symbol,),
        timeframes=(req.timeframe,),
        mode=req.train,
        baselines=(),
        flush_every=1000,
        checkpoint_every=1_000_000,
        synchronous_training=True,  # each step lands before the next prediction: repeatable
        schedules=backtest_schedules(req),
        seed=req.seed,
    )
    clock = ReplayClock(req.start)
    bus = MessageBus(name=session_id)
    total = len(candles)
    done = 0

    def count(candle: Candle, _: object) -> None:
        nonlocal done
        done += 1
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)

    # the weights trained during a backtest belong to it alone: checkpoints go to a scratch dir
    with tempfile.TemporaryDirectory(prefix="ghostcandle-backtest-") as scratch:
        if start is not None:
            # the session resumes from its newest checkpoint: make that the annotation-trained one
            seed_checkpoint(CheckpointStore(scratch, clock), session_id, start)
        session = LoopSession(db, config, bus, clock, kind="backtest", checkpoint_dir=scratch)
        session.predict_until = req.end
        session.start()
        structure = None
        try:
            follower = SessionBroker(session, broker, req.timeframe, on_update=count)
            if req.train != "none":
                structure = _structure(bus, db, req)
            for event in replay_events(
                session.candles, (req.symbol,), session.model_timeframes, req.start, req.end
            ):
                clock.advance_to(event.time)
                bus.publish(candle_topic(event.symbol, event.timeframe), event)
            failed = {k: v for k, v in bus.errors.items() if k.startswith("broker:")}
            if failed:
                raise OperationalError(
                    f"the simulated broker failed on {sum(failed.values())} candles: "
                    "see the log, this is a bug to report"
                )
            clock.advance_to(req.end + config.grace(req.timeframe) + 1)
            session.expire_now()
            follower.close()
            if structure is not None:
                structure.close()
            session.finish({"backtest": True, "signals": follower.signals})
        except BaseException as exc:
            if session.running:  # a failed finish has already failed the session
                session.stop(status=FAILED, reason=f"{type(exc).__name__}: {exc}")
            raise
    return follower.signals, session_id


def _structure(bus: MessageBus, db: Database, req: BacktestRequest) -> Any:
    """Track market structure on the backtest bus so pivots arrive as they would live."""
    from ghostcandle.engine.structure.engine import StructureEngine

    # indicator rows, pivots and moves are stored in batches: a commit per candle (or per
    # pivot) cost more than the candle's prediction; only the session reads this bus, from
    # its events, and everything is stored by ``close`` before the session finishes
    engine = StructureEngine(bus, db, flush_every=1000, store_before_publish=False)
    engine.track(req.symbol, req.timeframe)
    return engine

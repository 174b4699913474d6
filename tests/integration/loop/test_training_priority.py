"""A session that trains synchronously (a backtest) trains at its own priority, a live one nicer.

With ``synchronous_training`` the loop waits for every step and predicts nothing beside it, so a
lower priority only lets other processes delay the backtest; a live session's steps still yield
the CPU to its predictions (``step_worker.TRAINING_NICENESS``).
"""

from __future__ import annotations

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database

from .conftest import START, small_config


def test_synchronous_sessions_train_at_their_own_priority(market: Database, ckpt_dir: str) -> None:
    lower = {}
    for synchronous in (True, False):
        cfg = small_config(
            f"prio-{synchronous}", mode="every_candle", synchronous_training=synchronous
        )
        s = LoopSession(market, cfg, MessageBus(), ReplayClock(START), checkpoint_dir=ckpt_dir)
        trainer = s.start()._training.trainer
        assert trainer is not None
        lower[synchronous] = trainer.lower_priority
        s.stop()
    assert lower == {True: False, False: True}

"""A session that trains synchronously (a backtest) trains at its own priority, a live one nicer.

With ``synchronous_training`` the loop waits for every step and predicts nothing beside it, so a
lower priority only lets other processes delay the backtest; a live session's training work
yields the CPU to its predictions (``foreground.BACKGROUND_NICENESS``): the trainer's steps, the
batch builder that makes and judges its batches, and the outcome validator's worker.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.messaging.foreground import BACKGROUND_NICENESS
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


def _niceness(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


def _thread_niceness(name: str, base: int, timeout_s: float = 10.0) -> int:
    """Return the niceness of the live thread called ``name`` once it has set it (or as is)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [t.native_id for t in threading.enumerate() if t.name == name]
        assert found, f"no thread {name} is running"
        nice = _niceness(int(found[0]))  # type: ignore[arg-type]
        if nice != base or time.monotonic() > deadline:
            return nice
        time.sleep(0.01)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="thread priorities are Linux's")
def test_a_live_sessions_batch_builder_and_outcome_worker_run_nicer(
    market: Database, ckpt_dir: str
) -> None:
    base = _niceness(threading.get_native_id())
    nicer = min(19, base + BACKGROUND_NICENESS)
    seen = {}
    for synchronous in (True, False):
        cfg = small_config(
            f"bg-{synchronous}", mode="every_candle", synchronous_training=synchronous
        )
        s = LoopSession(market, cfg, MessageBus(), ReplayClock(START), checkpoint_dir=ckpt_dir)
        s.start()
        try:
            builder = s._training._builder
            assert builder is not None
            on_builder = builder.submit(lambda: _niceness(threading.get_native_id()))
            seen[synchronous] = (
                on_builder.result(timeout=30),
                _thread_niceness("outcomes", base, timeout_s=0.5 if synchronous else 10.0),
            )
        finally:
            s.stop()
    assert seen == {True: (base, base), False: (nicer, nicer)}

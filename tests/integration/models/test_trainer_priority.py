"""The trainer's threads yield the CPU to inference, unless asked to train at full priority."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.messaging.foreground import BACKGROUND_NICENESS, Foreground
from ghostcandle.models.base import ModelInputs, TrainingBatch
from ghostcandle.models.registry import create_model

SMALL = {"timeframes": ["1m", "1h"], "windows": {"1m": 40, "1h": 12}}


def _niceness_of_step(
    lower: bool, batch_for: Callable[..., tuple[ModelInputs, TrainingBatch]]
) -> int:
    model = create_model("cnn", **SMALL)
    _, batch = batch_for(model, seed=1)
    seen: list[int] = []

    class Probe(type(model)):  # type: ignore[misc]
        def train_step(self, b: TrainingBatch) -> dict[str, float]:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            return super().train_step(b)

    probe = Probe(model.cfg)
    trainer = Trainer(probe, clock=ReplayClock(0), lower_priority=lower).start()
    try:
        assert trainer.submit(batch).result(timeout=60).ok
    finally:
        trainer.stop()
    return seen[0]


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="thread priorities are Linux's")
def test_steps_run_nicer_by_default_and_at_the_callers_priority_on_request(
    batch_for: Callable[..., tuple[ModelInputs, TrainingBatch]],
) -> None:
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert _niceness_of_step(False, batch_for) == base
    nicer = _niceness_of_step(True, batch_for)
    # raising niceness is always allowed, up to the ceiling of 19
    assert nicer == min(19, base + BACKGROUND_NICENESS)


def test_a_step_waits_for_the_tick_in_flight_and_goes_once_it_is_stored(
    batch_for: Callable[..., tuple[ModelInputs, TrainingBatch]],
) -> None:
    model = create_model("cnn", **SMALL)
    _, batch = batch_for(model, seed=1)
    fg = Foreground()
    trainer = Trainer(model, clock=ReplayClock(0), yield_to=fg).start()
    try:
        fg.enter()  # a tick is being handled and stored
        fut = trainer.submit(batch)
        time.sleep(0.5)
        assert not fut.done(), "a step ran beside the tick in flight"
        assert trainer.stats.ok == 0
        fg.leave()
        assert fut.result(timeout=60).ok
        assert fg.yields == 1
        assert fg.yielded_s >= 0.45
        # nothing in flight: the next step does not wait
        assert trainer.submit(batch).result(timeout=60).ok
        assert fg.yields == 1
    finally:
        trainer.stop()

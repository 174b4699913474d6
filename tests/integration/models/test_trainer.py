"""The one trainer: bad steps are discarded, hung steps time out, inference never waits."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import OperationalError, UserInputError
from ghostcandle.engine.training.checkpoints import CheckpointInfo, CheckpointStore
from ghostcandle.engine.training.trainer import StepReport, Trainer
from ghostcandle.models.base import ModelInputs, TrainingBatch
from ghostcandle.models.cnn import CnnModel, make_cnn
from ghostcandle.models.registry import create_model

from .conftest import SMALL, make_batch


def _weights(model: object) -> dict[str, np.ndarray]:
    state = model.state_dict()  # type: ignore[attr-defined]
    return {k: v.numpy().copy() for k, v in state["weights"].items()}


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


class HangingCnn(CnnModel):
    """A real CNN whose step blocks while ``gate`` is closed, for batches marked ``hang``.

    Fault injection at the model boundary: the trainer must survive a model that never returns.
    """

    gate = threading.Event()
    entered = threading.Event()

    def train_step(self, batch: TrainingBatch) -> dict[str, float]:
        if "hang" in batch.inputs.extras:
            HangingCnn.entered.set()
            HangingCnn.gate.wait(30)
        return super().train_step(batch)


def _hanging_model() -> HangingCnn:
    base = make_cnn(SMALL)
    return HangingCnn(base.cfg)


def _marked(batch: TrainingBatch) -> TrainingBatch:
    inputs = ModelInputs(windows=batch.inputs.windows, extras={"hang": np.zeros(1)})
    return dataclasses.replace(batch, inputs=inputs)


def _poisoned(batch: TrainingBatch) -> TrainingBatch:
    windows = dict(batch.inputs.windows)
    bad = windows["1m"].copy()
    bad[0, -1, 3] = 1e39  # overflows float32: the forward pass and the loss become inf/NaN
    windows["1m"] = bad
    return dataclasses.replace(batch, inputs=ModelInputs(windows=windows))


@pytest.fixture
def trainer() -> Trainer:
    t = Trainer(create_model("cnn", **SMALL), clock=ReplayClock(1_000), step_timeout_s=20).start()
    yield t
    t.stop(5)


def test_good_steps_publish_new_snapshots(trainer: Trainer) -> None:
    inputs, batch = make_batch(trainer.snapshot.model, seed=1)
    first = trainer.snapshot
    report = trainer.submit(batch, source="every_candle").result(10)
    assert report.ok
    assert report.step == 1
    assert report.source == "every_candle"
    assert report.losses["loss"] > 0
    snap = trainer.snapshot
    assert snap is not first
    assert snap.step == 1
    assert snap.version == report.version
    # the old snapshot is untouched: a reader holding it still sees the weights it started with
    assert first.step == 0
    assert not _equal(_weights(first.model), _weights(snap.model))
    out, used = trainer.predict(inputs)
    assert used is snap
    assert np.array_equal(out.action_probs, snap.model.predict(inputs).action_probs)


def test_before_publish_sees_the_report_while_predict_still_uses_the_old_weights(
    trainer: Trainer,
) -> None:
    # a session records a step there: a prediction by its weights is never committed without it
    _, batch = make_batch(trainer.snapshot.model, seed=4)
    _, bad = make_batch(trainer.snapshot.model, seed=5)
    bad = dataclasses.replace(bad, inputs=ModelInputs(windows={"1m": bad.inputs.windows["1m"]}))
    seen: list[tuple[str, int, int | None, int]] = []

    def hook(report: StepReport) -> None:
        new = None if report.snapshot is None else report.snapshot.step
        seen.append((report.status, report.step, new, trainer.snapshot.step))

    for b in (batch, bad, batch):
        trainer.submit(b, before_publish=hook).result(10)
    assert seen == [("ok", 1, 1, 0), ("failed", 1, None, 1), ("ok", 2, 2, 1)]
    assert trainer.snapshot.step == 2


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_nan_step_is_discarded_and_last_good_weights_kept(trainer: Trainer) -> None:
    _, batch = make_batch(trainer.snapshot.model, seed=2)
    assert trainer.submit(batch).result(10).ok
    good = _weights(trainer.snapshot.model)
    report = trainer.submit(_poisoned(batch)).result(10)
    assert report.status == "non_finite"
    assert report.step == 1
    assert _equal(_weights(trainer.snapshot.model), good)
    assert trainer.stats.non_finite == 1
    # the trainer goes on from the last good weights, not from the poisoned copy
    after = trainer.submit(batch).result(10)
    assert after.ok
    assert after.step == 2
    assert all(np.isfinite(w).all() for w in _weights(trainer.snapshot.model).values())


def test_step_leaving_inf_weights_is_discarded() -> None:
    # AdamW decays weights by (1 - lr * weight_decay) = -1e40: beyond float32, so +-inf,
    # while the losses (computed before the update) stay finite
    trainer = Trainer(
        create_model("cnn", learning_rate=1.0, weight_decay=1e40, **SMALL), clock=ReplayClock(0)
    ).start()
    try:
        _, batch = make_batch(trainer.snapshot.model, seed=2)
        before = _weights(trainer.snapshot.model)
        report = trainer.submit(batch).result(10)
        assert report.status == "non_finite"
        assert all(np.isfinite(v) for v in report.losses.values())
        assert _equal(_weights(trainer.snapshot.model), before)
    finally:
        trainer.stop(5)


def test_raising_step_is_reported_and_discarded(trainer: Trainer) -> None:
    _, batch = make_batch(trainer.snapshot.model, seed=3)
    before = _weights(trainer.snapshot.model)
    broken = dataclasses.replace(
        batch, inputs=ModelInputs(windows={"1m": batch.inputs.windows["1m"]})
    )
    report = trainer.submit(broken).result(10)
    assert report.status == "failed"
    assert "lack a 1h window" in report.error
    assert _equal(_weights(trainer.snapshot.model), before)
    assert trainer.submit(batch).result(10).ok


def test_hanging_step_times_out_and_predict_never_waits() -> None:
    HangingCnn.gate.clear()
    HangingCnn.entered.clear()
    # the caller's priority: a niced step thread on a busy machine may starve past 1 s
    trainer = Trainer(
        _hanging_model(), clock=ReplayClock(0), step_timeout_s=1.0, lower_priority=False
    ).start()
    try:
        inputs, batch = make_batch(trainer.snapshot.model, seed=4)
        before = _weights(trainer.snapshot.model)
        fut = trainer.submit(_marked(batch))
        assert HangingCnn.entered.wait(10)
        # the step is stuck inside the model: inference still answers from the snapshot
        out, snap = trainer.predict(inputs)
        assert snap.step == 0
        assert not fut.done()
        assert np.array_equal(out.action_probs, snap.model.predict(inputs).action_probs)
        report = fut.result(10)
        assert report.status == "timeout"
        assert trainer.stats.abandoned_threads == 1
        assert _equal(_weights(trainer.snapshot.model), before)
        # training goes on from a fresh copy of the last good weights
        assert trainer.submit(batch).result(10).ok
        published = _weights(trainer.snapshot.model)
        # the abandoned step finishes late, on its abandoned copy: nothing we use changes
        HangingCnn.gate.set()
        trainer.submit(batch).result(10)
        assert trainer.snapshot.step == 2
        assert not _equal(published, _weights(trainer.snapshot.model))
    finally:
        HangingCnn.gate.set()
        trainer.stop(5)


def test_updates_from_many_threads_are_serialised(trainer: Trainer) -> None:
    _, batch = make_batch(trainer.snapshot.model, seed=5)
    futures = []
    lock = threading.Lock()

    def submit_five() -> None:
        for _ in range(5):
            f = trainer.submit(batch, source=threading.current_thread().name)
            with lock:
                futures.append(f)

    threads = [threading.Thread(target=submit_five) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reports = sorted((f.result(30) for f in futures), key=lambda r: r.step)
    assert [r.step for r in reports] == list(range(1, 21))
    assert all(r.ok for r in reports)
    assert trainer.snapshot.model.step == 20


def test_flush_waits_for_queued_steps_and_reports_are_delivered() -> None:
    reports: list[StepReport] = []
    trainer = Trainer(
        create_model("cnn", **SMALL), clock=ReplayClock(7), on_report=reports.append
    ).start()
    try:
        _, batch = make_batch(trainer.snapshot.model, seed=10)
        for _ in range(5):
            trainer.submit(batch, source="manual")
        assert trainer.flush(30)
        assert trainer.snapshot.step == 5
        assert [r.seq for r in reports] == [1, 2, 3, 4, 5]
        assert all(r.ok and r.source == "manual" and r.finished_at == 7 for r in reports)
        assert trainer.stats.ok == 5
    finally:
        trainer.stop(5)


def test_flush_sleeps_while_a_step_runs_and_wakes_when_it_ends() -> None:
    HangingCnn.gate.clear()
    HangingCnn.entered.clear()
    trainer = Trainer(_hanging_model(), clock=ReplayClock(0), step_timeout_s=20).start()
    try:
        _, batch = make_batch(trainer.snapshot.model, seed=8)
        fut = trainer.submit(_marked(batch))
        assert HangingCnn.entered.wait(10)
        cpu, wall = time.thread_time(), time.monotonic()
        assert trainer.flush(timeout_s=1.0) is False  # the step still hangs
        waited_cpu_ms = (time.thread_time() - cpu) * 1000.0
        assert time.monotonic() - wall >= 1.0
        # a waiter that polls burns CPU all along (about 30 ms a second at 1 ms sleeps)
        assert waited_cpu_ms < 5.0, waited_cpu_ms
        threading.Timer(0.2, HangingCnn.gate.set).start()
        assert trainer.flush(timeout_s=30) is True
        assert fut.done()
        assert fut.result().ok
        assert trainer.flush(timeout_s=0) is True  # nothing left: no wait at all
    finally:
        HangingCnn.gate.set()
        trainer.stop(5)


def test_full_queue_drops_instead_of_blocking() -> None:
    HangingCnn.gate.clear()
    HangingCnn.entered.clear()
    trainer = Trainer(
        _hanging_model(), clock=ReplayClock(0), step_timeout_s=20, queue_size=1
    ).start()
    try:
        _, batch = make_batch(trainer.snapshot.model, seed=6)
        first = trainer.submit(_marked(batch))
        assert HangingCnn.entered.wait(10)
        queued = trainer.submit(batch)
        dropped = trainer.submit(batch)
        assert dropped.done()
        assert dropped.result().status == "dropped"
        HangingCnn.gate.set()
        assert first.result(10).ok
        assert queued.result(10).ok
        assert trainer.stats.dropped == 1
    finally:
        HangingCnn.gate.set()
        trainer.stop(5)


def test_baselines_are_never_trained() -> None:
    trainer = Trainer(create_model("persistence", **SMALL), clock=ReplayClock(0)).start()
    try:
        _, batch = make_batch(trainer.snapshot.model, seed=7)
        report = trainer.submit(batch).result(10)
        assert report.status == "skipped"
        assert trainer.snapshot.step == 0
    finally:
        trainer.stop(5)


def test_stopping_waits_for_the_thread_that_ran_the_steps() -> None:
    """No thread that ran torch steps is still ending once ``stop`` returns (a process that
    exits right after must not tear torch down under it)."""
    before = set(threading.enumerate())
    t = Trainer(create_model("cnn", **SMALL), clock=ReplayClock(1_000), step_timeout_s=20)
    t.start()
    _, batch = make_batch(t.snapshot.model, seed=9)
    assert t.submit(batch).result(10).ok
    workers = [
        th for th in set(threading.enumerate()) - before if th.name.startswith("train-step-")
    ]
    assert len(workers) == 1
    t.stop(5)
    assert not any(th.is_alive() for th in workers)


def test_submit_after_stop_is_refused(trainer: Trainer) -> None:
    _, batch = make_batch(trainer.snapshot.model, seed=8)
    trainer.stop(5)
    with pytest.raises(OperationalError, match="not running"):
        trainer.submit(batch)


def test_checkpoints_every_n_steps_and_on_stop_then_resume(tmp_path: Path) -> None:
    clock = ReplayClock(5_000)
    store = CheckpointStore(tmp_path / "ckpt", clock, keep=10)
    seen: list[CheckpointInfo] = []
    trainer = Trainer(
        create_model("cnn", **SMALL),
        clock=clock,
        checkpoints=store,
        checkpoint_key="session-a",
        checkpoint_every=3,
        on_checkpoint=seen.append,
    ).start()
    inputs, batch = make_batch(trainer.snapshot.model, seed=9)
    for _ in range(7):
        trainer.submit(batch).result(10)
    trainer.stop(5)
    assert [i.step for i in seen] == [3, 6, 7]
    assert [i.step for i in store.list("session-a")] == [3, 6, 7]
    last = trainer.snapshot
    # a restarted process resumes from the last checkpoint: same weights, same step
    resumed = Trainer(
        create_model("cnn", **SMALL), clock=clock, checkpoints=store, checkpoint_key="session-a"
    )
    assert resumed.snapshot.step == 7
    assert resumed.last_checkpoint is not None
    assert resumed.last_checkpoint.step == 7
    a, _ = resumed.predict(inputs)
    b, _ = trainer.predict(inputs)
    assert np.array_equal(a.action_probs, b.action_probs)
    assert torch.equal(
        resumed.snapshot.model.state_dict()["weights"]["action_head.weight"],
        last.model.state_dict()["weights"]["action_head.weight"],
    )
    # a model built with other settings cannot silently take these weights
    with pytest.raises(UserInputError, match="written by another model config"):
        Trainer(
            create_model("cnn", **{**SMALL, "channels": 8}),
            clock=clock,
            checkpoints=store,
            checkpoint_key="session-a",
        )


def test_finiteness_check_sees_weights_buffers_and_optimiser_state() -> None:
    from ghostcandle.engine.training.step_worker import model_finite as _model_finite
    from ghostcandle.engine.training.step_worker import state_finite as _state_finite

    model = create_model("cnn", **SMALL)
    _, batch = make_batch(model, seed=4)
    model.train_step(batch)  # the optimiser now holds moment estimates
    assert _model_finite(model)
    assert _state_finite(model.state_dict())
    net, opt = model.net, model.optimizer  # type: ignore[attr-defined]
    param = next(iter(net.parameters()))
    with torch.no_grad():
        opt.state[param]["exp_avg_sq"].view(-1)[-1] = float("inf")
    assert not _model_finite(model)  # the weights are fine, the optimiser state is not
    assert not _state_finite(model.state_dict())
    fresh = create_model("cnn", **SMALL)
    with torch.no_grad():
        next(iter(fresh.net.parameters())).view(-1)[0] = float("nan")  # type: ignore[attr-defined]
    assert not _model_finite(fresh)

"""Benchmark the models and the trainer; print ONE JSON line of figures.

- batched predict latency (2 symbols, one call covering 1s/1m/1h/1d) per registered model, and
  transformer + cnn together (what one tick costs), p50/p99 in ms; for a torch family beside its
  floor, the net's forward alone on pre-built tensors as ``predict`` runs it (a small batch
  traced: ``models.traced``; ``floor_net_forward_p50``, ``vs_floor``), and the same forward
  eager (``eager_net_forward_p50``: what tracing saves);
- train_step time per learning model (batch of 8), p50 in ms, and the trainer's full cycle
  (step + finiteness check + snapshot publish) per step, beside the floor: a bare torch step
  (forward, loss, backward, clip, AdamW step) on pre-built tensors of the same batch;
- predict latency on the published snapshot while the trainer thread trains back to back, against
  idle, for transformer + cnn: p50/p99 and the p99 ratio.

Torch runs on one intra-op thread (the setting the engine uses on 2-core machines).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from ghostcandle.domain.actions import actions_from_moves
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.models import traced
from ghostcandle.models.base import Model, ModelInputs, TrainingBatch
from ghostcandle.models.depth_input import depth_window
from ghostcandle.models.device import use_device
from ghostcandle.models.dqn import DqnModel
from ghostcandle.models.dqn_net import held_one_hot
from ghostcandle.models.inputs import normalise_targets, prepare_inputs, training_batch
from ghostcandle.models.registry import create_model, model_names
from ghostcandle.models.torch_model import TorchModel

COLS = ["open", "high", "low", "close", "volume"]
TFS = ("1s", "1m", "1h", "1d")


def _series(seed: int, n: int) -> np.ndarray:
    return synthetic_candles(n, "1m", start_ms=0, seed=seed)[COLS].to_numpy()


def _inputs(model: Model, symbols: int) -> ModelInputs:
    samples = [{tf: _series(s * 10 + i, 700) for i, tf in enumerate(TFS)} for s in range(symbols)]
    return prepare_inputs(samples, model.windows)[0]


def synthetic_batch(model: Model, size: int) -> TrainingBatch:
    """A labelled batch of ``size`` synthetic windows for ``model`` (its inputs and targets)."""
    series = {tf: _series(100 + i, 700 + size) for i, tf in enumerate(TFS)}
    ends = [650 + i for i in range(size)]
    samples = [{tf: s[:e] for tf, s in series.items()} for e in ends]
    inputs, params = prepare_inputs(samples, model.windows)
    targets = normalise_targets(
        [{tf: s[e] for tf, s in series.items()} for e in ends], params, model.timeframes
    )
    m = series["1s"]
    labels = actions_from_moves(m[[e - 1 for e in ends], 3], m[ends, 3])
    return training_batch(inputs, targets, labels)


def _floor_predict(
    m: TorchModel | DqnModel, x: ModelInputs, *, eager: bool = False
) -> Callable[[], object]:
    """Return the bare net's forward on pre-built tensors of ``x`` (the predict floor): as
    ``predict`` runs it (a small batch traced on the CPU: ``models.traced``), or ``eager``.
    The DQN's is its acting forward (windows and the held position, flat here)."""
    tensors = m._tensors(x)
    if isinstance(m, DqnModel):
        held = held_one_hot(m._positions(x), torch.float32)

        def act() -> object:
            with torch.inference_mode():
                if eager:
                    return m.acting(tensors, held)
                return traced.forward(m.acting, m.architecture, tensors, held)

        return act
    net = m

    def forward() -> object:
        with torch.inference_mode():
            out = net.net(tensors) if eager else traced.forward(net.net, net.architecture, tensors)
        _sync(net)
        return out

    return forward


def _floor_step(m: TorchModel, batch: TrainingBatch) -> Callable[[], object]:
    """Return a bare torch step on pre-built tensors of ``batch`` (the train_step floor)."""
    inputs = m._tensors(batch.inputs)
    targets = {
        tf: m._on_device(torch.from_numpy(np.asarray(t, np.float32)))
        for tf, t in batch.targets.items()
    }
    actions = m._on_device(torch.from_numpy(batch.actions))
    m.net.train()

    def step() -> object:
        parts = m._losses(inputs, targets, actions, None)
        m.optimizer.zero_grad(set_to_none=True)
        parts["loss"].backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(m.net.parameters(), m.cfg.grad_clip)
        m.optimizer.step()
        _sync(m)
        return parts

    return step


def _sync(m: TorchModel) -> None:
    """Wait for the model's GPU work (the floors are timed to their end, as predict is)."""
    if m.device.type == "cuda":
        torch.cuda.synchronize(m.device)


def _pct(ms: list[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(ms, 50)), 3),
        "p99": round(float(np.percentile(ms, 99)), 3),
    }


def _time(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _while_training(
    trainers: dict[str, Trainer],
    batches: dict[str, TrainingBatch],
    tick: Callable[[], object],
    period_s: float,
    window_s: float = 6.0,
) -> tuple[list[float], int]:
    """Time ``tick`` back to back for ``window_s`` while each trainer steps every ``period_s``."""
    stop = threading.Event()
    done = [0]

    def feed(name: str) -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            trainers[name].submit(batches[name], source="bench").result()
            done[0] += 1
            stop.wait(max(0.0, period_s - (time.perf_counter() - t0)))

    feeders = [threading.Thread(target=feed, args=(n,), daemon=True) for n in trainers]
    for f in feeders:
        f.start()
    time.sleep(0.3)
    busy: list[float] = []
    end = time.perf_counter() + window_s
    while time.perf_counter() < end:
        busy += _time(tick, 10)
    stop.set()
    for f in feeders:
        f.join()
    return busy, done[0]


def main() -> None:
    """Run the benchmark and print one JSON line."""
    parser = argparse.ArgumentParser(description="model predict and train latency")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    try:
        device = use_device(parser.parse_args().device)
    except UserInputError as exc:
        sys.stderr.write(f"bench_models: error: {exc}\n")
        sys.exit(2)
    torch.set_num_threads(1)
    figures: dict[str, object] = {
        "bench": "models",
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "device": str(device),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "symbols": 2,
        "timeframes": list(TFS),
    }
    # the families that read the order book are benched on recorded books: bench_depth_ingest
    built = {name: create_model(name) for name in model_names()}
    models = {n: m for n, m in built.items() if not depth_window(m)}
    figures["windows"] = dict(models["transformer"].windows)
    figures["params"] = {
        n: sum(p.numel() for p in m.net.parameters())  # type: ignore[attr-defined]
        for n, m in models.items()
        if m.learns
    }
    inputs = {n: _inputs(m, 2) for n, m in models.items()}
    predict: dict[str, dict[str, float]] = {}
    for name, m in models.items():
        _time(partial(m.predict, inputs[name]), 10)  # warm-up
        predict[name] = _pct(_time(partial(m.predict, inputs[name]), 300))
        if isinstance(m, TorchModel | DqnModel):  # the floor: the net's forward alone
            floor = _floor_predict(m, inputs[name])
            _time(floor, 10)
            predict[name]["floor_net_forward_p50"] = _pct(_time(floor, 300))["p50"]
            predict[name]["vs_floor"] = round(
                predict[name]["p50"] / predict[name]["floor_net_forward_p50"], 2
            )
            eager = _floor_predict(m, inputs[name], eager=True)
            _time(eager, 10)
            predict[name]["eager_net_forward_p50"] = _pct(_time(eager, 300))["p50"]
    tick = _time(
        lambda: (
            models["transformer"].predict(inputs["transformer"]),
            models["cnn"].predict(inputs["cnn"]),
        ),
        300,
    )
    figures["predict_ms"] = predict
    figures["tick_transformer_plus_cnn_ms"] = _pct(tick)

    train: dict[str, dict[str, float]] = {}
    for name in ("transformer", "cnn"):
        m = create_model(name)
        batch = synthetic_batch(m, 8)
        m.train_step(batch)
        step_ms = _time(partial(m.train_step, batch), 20)
        trainer = Trainer(create_model(name), clock=LiveClock()).start()
        trainer.submit(batch).result()
        cycle = _time(lambda: trainer.submit(batch).result(), 20)  # noqa: B023
        trainer.stop()
        bare = create_model(name)
        assert isinstance(bare, TorchModel)
        floor = _floor_step(bare, batch)
        floor()
        floor_ms = _pct(_time(floor, 20))["p50"]
        train[name] = {
            "train_step_p50_ms": _pct(step_ms)["p50"],
            "trainer_cycle_p50_ms": _pct(cycle)["p50"],
            "floor_bare_step_p50_ms": floor_ms,
            "train_step_vs_floor": round(_pct(step_ms)["p50"] / floor_ms, 2),
            "trainer_cycle_vs_floor": round(_pct(cycle)["p50"] / floor_ms, 2),
            "batch": 8,
        }
    figures["train"] = train

    # predict on published snapshots, idle vs while both trainers train back to back
    trainers = {
        n: Trainer(create_model(n), clock=LiveClock(), queue_size=4).start()
        for n in ("transformer", "cnn")
    }
    batches = {n: synthetic_batch(t.snapshot.model, 8) for n, t in trainers.items()}

    def tick_on_snapshots() -> None:
        for n, t in trainers.items():
            t.predict(inputs[n])

    _time(tick_on_snapshots, 10)
    idle = _time(tick_on_snapshots, 300)
    figures["tick_on_snapshots_idle_ms"] = _pct(idle)
    # per-candle cadence (each trainer one step a second: the 1s candle rate), then
    # saturated (steps back to back, the worst case)
    for label, period_s in (("per_candle_1hz", 1.0), ("saturated", 0.0)):
        busy, steps = _while_training(trainers, batches, tick_on_snapshots, period_s)
        figures[f"tick_on_snapshots_training_{label}_ms"] = _pct(busy)
        figures[f"training_{label}_vs_idle_p99_ratio"] = round(
            _pct(busy)["p99"] / _pct(idle)["p99"], 2
        )
        figures[f"train_steps_{label}"] = steps
    for t in trainers.values():
        t.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

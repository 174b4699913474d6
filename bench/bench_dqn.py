"""Benchmark the DQN's training step and its replay buffer; print ONE JSON line of figures.

- **train step**: one Double DQN step on an experience batch of 32 (states and next states of
  the README's offline config: 1m x 60 and 1h x 24 candles, hidden 64; torch on one thread),
  p50/p99 in ms, beside a floor measured in the same run: the same network's plain forward and
  backward on the same states (the candle heads and the Q head on the states only: no next
  states, no target network, no optimiser step).
- **buffer**: drawing 32 experiences with importance weights plus updating their 32 TD
  priorities, at 100k and 1M stored experiences, p50/p99 in us, beside a floor: numpy's
  ``rng.choice(n, 32, p=...)`` over the same probabilities (O(n) per draw, no update).

Usage: ``python bench/bench_dqn.py``
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ghostcandle.engine.samples.experience_replay import ExperienceReplay, Experiences, PerSettings
from ghostcandle.models.base import ModelInputs, TrainingBatch
from ghostcandle.models.dqn import DqnModel
from ghostcandle.models.registry import create_model

K = 32
CONFIG = {"timeframes": ["1m", "1h"], "windows": {"1m": 60, "1h": 24}}


def _stats(samples: list[float], unit: float, name: str) -> dict[str, float]:
    a = np.array(samples) * unit
    return {f"p50_{name}": round(float(np.percentile(a, 50)), 3),
            f"p99_{name}": round(float(np.percentile(a, 99)), 3)}  # fmt: skip


def _timed(fn: Callable[[], Any], reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _inputs(rng: np.random.Generator, position: int) -> ModelInputs:
    windows = {}
    for tf, n in CONFIG["windows"].items():  # type: ignore[attr-defined]
        close = np.cumsum(rng.normal(size=(K, n)), axis=1)
        w = np.stack([close, close + 1, close - 1, close, rng.uniform(1, 2, (K, n))], axis=2)
        windows[tf] = w.astype(np.float32)
    return ModelInputs(windows=windows, extras={"position": np.full(K, position, np.float32)})


def bench_step() -> dict[str, Any]:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    model = create_model("dqn", **CONFIG)
    assert isinstance(model, DqnModel)
    batch = TrainingBatch(
        inputs=_inputs(rng, 0),
        targets={"1m": rng.normal(size=(K, 5)).astype(np.float32)},
        actions=rng.integers(0, 3, K),
        rewards=rng.normal(size=K),
        next_inputs=_inputs(rng, 1),
        weights=rng.uniform(0.2, 1.0, K).astype(np.float32),
    )
    for _ in range(10):
        model.train_step(batch)
    step = _timed(lambda: model.train_step(batch), 200)
    net = model.net
    windows = {tf: torch.from_numpy(w) for tf, w in batch.inputs.windows.items()}
    pos = torch.zeros(K, dtype=torch.int64)

    def plain() -> None:
        raw, _, q = net(windows, pos)
        loss = q.square().mean() + sum(r.square().mean() for r in raw.values())
        net.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]

    for _ in range(10):
        plain()
    floor = _timed(plain, 200)
    return {
        "batch": K,
        **_stats(step, 1e3, "ms"),
        "floor_forward_backward": _stats(floor, 1e3, "ms"),
    }


def bench_buffer(n: int) -> dict[str, Any]:
    rng = np.random.default_rng(1)
    buf = ExperienceReplay(PerSettings(capacity=n), seed=2)
    buf.add(Experiences(
        state=np.arange(n), position=rng.integers(-1, 2, n), action=rng.integers(0, 3, n),
        reward=rng.normal(size=n), next_state=np.arange(n) + 1,
        next_position=rng.integers(-1, 2, n), discount=np.full(n, 0.9),
        profit_priority=rng.gamma(2.0, 1.0, n),
    ))  # fmt: skip
    buf.update_td(np.arange(n), rng.exponential(1.0, n))

    def draw_and_update() -> None:
        slots, _ = buf.sample(K, 0.6)
        buf.update_td(slots, rng.exponential(1.0, K))

    tree = _timed(draw_and_update, 3000)
    probs = buf.probabilities()
    choice = _timed(lambda: rng.choice(n, K, p=probs), 20 if n > 200_000 else 100)
    return {"n": n, "sample_and_update": _stats(tree, 1e6, "us"),
            "floor_numpy_choice": _stats(choice, 1e6, "us")}  # fmt: skip


def main() -> None:
    out = {
        "bench": "dqn",
        "train_step": bench_step(),
        "buffer": [bench_buffer(100_000), bench_buffer(1_000_000)],
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""Fit a DQN offline: episodes over stored candles, prioritised replay, the one trainer.

Each epoch is one **episode** over the training decisions (``dqn_rollout``): the agent acts on a
chunk of steps with the trainer's latest weights (epsilon-greedy, epsilon annealed linearly from
``epsilon_start`` to ``epsilon_end`` over the first half of the fit, seeded by ``(seed,
episode)``), its n-step experiences go into the prioritised, profit-weighted replay
(``engine.samples.experience_replay``), and then, once ``warmup`` experiences are stored, one
training step per ``train_every`` new experiences: a batch of ``batch_size`` drawn by priority
with importance weights (``beta`` annealed to 1 over the fit's steps) goes through the
``Trainer`` (the single writer), and the batch's TD errors, read from the snapshot that step
published, become those experiences' new priorities. A step the trainer discards (a non-finite
reward or loss) is counted and changes nothing.

Each experience's profitability priority is its decision's, from the training-data system
(outcomes measured on the stored candles, ``priority.priorities``), counting only outcomes known
by the validation split; a decision without one gets the median. After each episode the
published weights act **greedily** over the validation decisions; ``val_loss`` is minus their
mean reward per step (reward units, net of fees), so the kept weights are those that traded the
validation period best, and training stops after ``patience`` episodes without improvement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, OperationalError, UserInputError
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.samples import NewSample, SampleSource
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.engine.offline.dataset import DecisionDataset
from ghostcandle.engine.offline.dqn_rollout import (
    experience_batch,
    experiences,
    greedy_reward,
    rollout,
    segments,
)
from ghostcandle.engine.offline.replay import dataset_outcomes, outcome_config
from ghostcandle.engine.offline.trainer import EpochResult, FitResult, FitSettings, OnEpoch, Split
from ghostcandle.engine.samples.experience_replay import (
    ExperienceReplay,
    Experiences,
    PerSettings,
)
from ghostcandle.engine.samples.priority import priorities
from ghostcandle.engine.samples.sampler import beta_schedule
from ghostcandle.engine.training.trainer import Snapshot, Trainer
from ghostcandle.models.base import Model
from ghostcandle.models.dqn import DqnModel


@dataclass(frozen=True, kw_only=True)
class EpisodeSettings:
    """How a DQN explores and how often it learns while it acts."""

    epsilon_start: float = 0.5
    epsilon_end: float = 0.05
    train_every: int = 4
    batch_size: int = 32
    warmup: int = 256
    #: steps acted on with one snapshot of the weights
    chunk: int = 256
    per: PerSettings = field(default_factory=PerSettings)

    def check(self) -> EpisodeSettings:
        """Return self if usable, else raise a one-line ``UserInputError``."""
        for name in ("epsilon_start", "epsilon_end"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0.0 <= v <= 1.0):
                raise UserInputError(f"dqn {name} {v!r} is not in [0, 1]")
        for name in ("train_every", "batch_size", "warmup", "chunk"):
            if getattr(self, name) < 1:
                raise UserInputError(f"dqn {name} must be at least 1")
        self.per.check()
        return self

    def to_json(self) -> dict[str, Any]:
        """Return the settings as plain JSON values."""
        return {
            "epsilon_start": self.epsilon_start,
            "epsilon_end": self.epsilon_end,
            "train_every": self.train_every,
            "batch_size": self.batch_size,
            "warmup": self.warmup,
            "chunk": self.chunk,
            "per": self.per.to_json(),
        }


def profit_priorities(data: DecisionDataset, split_time: int) -> np.ndarray:
    """Return each decision's profitability priority, from outcomes known by ``split_time``."""
    outs = dataset_outcomes(data, outcome_config(data, None))
    o = outs.outcomes
    known = o.complete & (outs.known_at <= split_time)
    out = np.ones(len(data))
    if known.any():
        p = priorities(o.profitability[known], data.labels[known], o.rapid_move[known])
        out[:] = float(np.median(p))
        out[known] = p
    return out


class _Run:
    """One fit's moving parts: the trainer, the buffer, the counters."""

    def __init__(
        self, trainer: Trainer, data: DecisionDataset, ep: EpisodeSettings, total_steps: int,
        seed: int,
    ) -> None:  # fmt: skip
        self.trainer, self.data, self.ep = trainer, data, ep
        self.buffer = ExperienceReplay(ep.per, seed=[seed, 1])
        self.total_steps = max(1, total_steps)
        self.steps = self.failed = 0
        self.errors: list[str] = []

    def learn(self, new: int, losses: list[float]) -> None:
        """Run the training steps ``new`` experiences pay for (after the warm-up)."""
        if len(self.buffer) < self.ep.warmup:
            return
        for _ in range(max(1, new // self.ep.train_every)):
            self.steps += 1
            beta = beta_schedule(self.ep.per.beta, min(self.steps, self.total_steps),
                                 self.total_steps)  # fmt: skip
            slots, w = self.buffer.sample(self.ep.batch_size, beta)
            batch = experience_batch(self.data, self.buffer.get(slots), w)
            report = self.trainer.submit(batch, source=TrainingSource.OFFLINE).result()
            if not report.ok or report.snapshot is None:
                self.failed += 1
                self.errors.append(f"{report.status}: {report.error}")
                continue
            losses.append(report.losses["loss"])
            model = report.snapshot.model
            if isinstance(model, DqnModel) and len(model.last_td_errors) == len(slots):
                self.buffer.update_td(slots, model.last_td_errors)


@dataclass(frozen=True)
class DqnFitResult(FitResult):
    """A DQN fit, with the experiences its replay held at the end (by reference)."""

    experiences: Experiences | None = field(default=None, repr=False)


def fit_dqn(
    model: Model,
    data: DecisionDataset,
    split: Split,
    settings: FitSettings,
    *,
    clock: Clock,
    on_epoch: OnEpoch | None = None,
    episodes: EpisodeSettings | None = None,
) -> DqnFitResult:
    """Train a DQN by episodes over ``split.train``, keep the best greedy validation reward."""
    settings.check()
    ep = (episodes or EpisodeSettings()).check()
    if not isinstance(model, DqnModel):
        raise UserInputError(f"{model.name} is not a dqn: episodes train an acting agent")
    if settings.torch_threads is not None:
        torch.set_num_threads(settings.torch_threads)
    h = model.cfg.horizon
    train_segs = segments(data, split.train, h)
    val_segs = segments(data, split.val, h)
    if not train_segs or not val_segs:
        raise DataMissingError(
            f"no {h}-candle steps without a gap to act on in the training or validation "
            "decisions: widen the range or shorten --model-config horizon"
        )
    prio = profit_priorities(data, split.split_time)
    per_episode = sum(len(s) for s in train_segs)
    t_start = time.perf_counter()
    trainer = Trainer(model, clock=clock, step_timeout_s=settings.step_timeout_s,
                      lower_priority=settings.background).start()  # fmt: skip
    run = _Run(trainer, data, ep, settings.epochs * per_episode // ep.train_every, settings.seed)
    epochs: list[EpochResult] = []
    best: Snapshot | None = None
    best_loss, best_epoch, stale, acted = math.inf, 0, 0, 0
    rewards_seen: list[float] = []
    try:
        for epoch in range(1, settings.epochs + 1):
            t0, failed0 = time.perf_counter(), run.failed
            losses: list[float] = []
            rng = np.random.default_rng([settings.seed, epoch])
            for seg in train_segs:
                pos = 0
                for a in range(0, len(seg), ep.chunk):
                    frac = min(1.0, acted / max(1.0, 0.5 * settings.epochs * per_episode))
                    eps = ep.epsilon_start + (ep.epsilon_end - ep.epsilon_start) * frac
                    snap = trainer.snapshot.model
                    assert isinstance(snap, DqnModel)
                    roll = rollout(snap, data, seg, a, pos, ep.chunk, eps, rng)
                    pos = roll.final
                    run.buffer.add(experiences(snap, seg, a, roll, prio))
                    rewards_seen.append(float(roll.rewards.mean()))
                    acted += len(roll.actions)
                    run.learn(len(roll.actions), losses)
            train_s = time.perf_counter() - t0
            if not losses:
                if run.failed > failed0:
                    raise OperationalError(
                        f"episode {epoch}: no training step succeeded ({run.errors[-1]})"
                    )
                raise DataMissingError(
                    f"episode {epoch} acted on {per_episode} steps, fewer than the warm-up of "
                    f"{ep.warmup} experiences: widen the range or lower the warm-up"
                )
            snap_full = trainer.snapshot
            assert isinstance(snap_full.model, DqnModel)
            val_loss = -greedy_reward(snap_full.model, data, val_segs)
            improved = val_loss < best_loss
            if improved:
                best, best_loss, best_epoch, stale = snap_full, val_loss, epoch, 0
            else:
                stale += 1
            result = EpochResult(
                epoch=epoch, epochs=settings.epochs, train_loss=float(np.mean(losses)),
                val_loss=val_loss, best=improved, failed_steps=run.failed - failed0,
                duration_s=time.perf_counter() - t0, train_s=train_s,
                samples=len(losses) * ep.batch_size,
            )  # fmt: skip
            epochs.append(result)
            if on_epoch is not None:
                on_epoch(result)
            if stale >= settings.patience:
                break
    finally:
        trainer.stop(timeout_s=settings.step_timeout_s)
    assert best is not None
    elapsed = time.perf_counter() - t_start
    summary = {
        "kind": "dqn_episodes",
        **ep.to_json(),
        "steps": run.steps,
        "failed_steps": run.failed,
        "experiences": len(run.buffer),
        "rejected_experiences": run.buffer.rejected,
        "acted_steps": acted,
        "mean_train_reward": round(float(np.mean(rewards_seen)), 5) if rewards_seen else None,
    }
    return DqnFitResult(
        model=best.model, epochs=tuple(epochs), best_epoch=best_epoch,
        stopped_early=len(epochs) < settings.epochs, train_samples=len(split.train),
        val_samples=len(split.val), split_time=split.split_time,
        samples_per_s=run.steps * ep.batch_size / elapsed if elapsed > 0 else 0.0,
        duration_s=elapsed, replay=summary, experiences=run.buffer.stored(),
    )  # fmt: skip


def experience_samples(
    result: FitResult, rows: np.ndarray, refs: Sequence[FrameRef], timeframe: str
) -> list[NewSample]:
    """Return a DQN fit's stored experiences as ``experience`` samples (others: none).

    ``refs`` are the frames of dataset ``rows``; an experience's state is its frame and its next
    state is named in ``origin`` (with the position held), so each is a reference, not a copy.
    """
    exp = result.experiences if isinstance(result, DqnFitResult) else None
    if exp is None or not len(exp):
        return []
    by_row = dict(zip(rows.tolist(), refs, strict=True))
    out: dict[str, NewSample] = {}
    for i in range(len(exp)):
        state, nxt = by_row.get(int(exp.state[i])), by_row.get(int(exp.next_state[i]))
        if state is None or nxt is None:
            continue
        labels = {
            "reward": float(exp.reward[i]),
            "position": float(exp.position[i]),
            "next_position": float(exp.next_position[i]),
            "discount": float(exp.discount[i]),
        }
        origin = f"next:{nxt.frame_id}|held:{int(exp.position[i])}"
        s = NewSample(state, SampleSource.EXPERIENCE, timeframe, int(exp.action[i]), labels,
                      origin=origin)  # fmt: skip
        out[s.sample_id] = s
    return list(out.values())

"""Replay for an offline fit: the decisions' outcomes, the pool known at the split, each epoch.

The outcomes of a dataset's decisions are measured in batch over the predicted timeframe's
series (``domain.outcomes``, the same code the background validator runs), and rapid moves
are detected over the same series (``domain.rapid_moves``, batch = incremental). A fit trains
on decisions before its validation split and scores after it, so its replay may only know
the outcomes whose horizon closed by the split (``as_of = split_time``): the candles of the
validation period never weigh a training sample. Decisions whose horizon closes later, or
past the stored candles, have no outcome yet and are left out of ``profitable`` and ``top``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ghostcandle.domain.events import RapidMoveEvent
from ghostcandle.domain.outcomes import OutcomeArrays, OutcomeConfig, outcomes_on_series
from ghostcandle.domain.rapid_moves import batch_rapid_moves
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.engine.offline.dataset import DecisionDataset
from ghostcandle.engine.samples.replay import (
    ReplayMode,
    ReplayPool,
    ReplaySettings,
    replay_pool,
)
from ghostcandle.engine.samples.sampler import ProportionalSampler, beta_schedule


@dataclass(frozen=True)
class DatasetOutcomes:
    """Every decision's outcome (``complete`` False where a horizon candle is not stored)."""

    outcomes: OutcomeArrays
    known_at: np.ndarray
    horizon: int
    rapid_moves: tuple[RapidMoveEvent, ...]


def outcome_config(data: DecisionDataset, settings: ReplaySettings | None) -> OutcomeConfig:
    """Return the outcome settings of a fit: the defaults, with ``--horizon`` if given."""
    cfg = OutcomeConfig()
    if settings is not None and settings.horizon is not None:
        cfg = cfg.with_horizon(data.target_timeframe, settings.horizon)
    return cfg


def series_rapid_moves(data: DecisionDataset) -> list[RapidMoveEvent]:
    """Return the rapid moves of the predicted timeframe's series (batch = incremental)."""
    tf = data.target_timeframe
    t, v = data.open_time[tf], data.values[tf]
    return batch_rapid_moves(
        data.symbol, tf, t, v[:, 0], v[:, 1], v[:, 2], v[:, 3], t + duration_ms(tf)
    )


def dataset_outcomes(data: DecisionDataset, config: OutcomeConfig) -> DatasetOutcomes:
    """Measure the outcome of every decision of ``data`` on its predicted timeframe."""
    tf = data.target_timeframe
    d = duration_ms(tf)
    h = config.horizon(tf)
    t, v = data.open_time[tf], data.values[tf]
    events = series_rapid_moves(data)
    times = np.array([e.detected_at for e in events], np.int64)
    arrays = outcomes_on_series(t, v, tf, data.decision_time, h, config, rapid_times=times)
    return DatasetOutcomes(arrays, data.decision_time + h * d, h, tuple(events))


class ReplayPlan:
    """What each epoch of one fit trains on, and with which weights."""

    def __init__(
        self,
        settings: ReplaySettings,
        train: np.ndarray,
        *,
        seed: int,
        pool: ReplayPool | None = None,
        outcomes: DatasetOutcomes | None = None,
    ) -> None:
        self.settings = settings
        self.train = train
        self.seed = seed
        self.pool = pool
        self.outcomes = outcomes
        self._sampler = (
            ProportionalSampler(pool.priority, alpha=settings.alpha, seed=seed)
            if pool is not None and settings.mode is ReplayMode.PROFITABLE
            else None
        )

    @classmethod
    def build(
        cls,
        data: DecisionDataset,
        train: np.ndarray,
        split_time: int,
        settings: ReplaySettings | None,
        *,
        seed: int,
        config: OutcomeConfig | None = None,
    ) -> ReplayPlan | None:
        """Return the plan of a fit on ``train`` (validation from ``split_time``).

        None when there is nothing to change (plain uniform: every row once per epoch). Raise
        ``DataMissingError`` when the mode leaves no eligible sample.
        """
        if settings is None or (not settings.needs_outcomes and settings.max_samples is None):
            return None
        settings.check()
        if not settings.needs_outcomes:
            return cls(settings, train, seed=seed)
        outs = dataset_outcomes(data, config or outcome_config(data, settings))
        o = outs.outcomes
        pool = replay_pool(
            outs.known_at[train],
            o.complete[train],
            o.profitability[train],
            data.labels[train],
            o.rapid_move[train],
            as_of=split_time,
            settings=settings,
        )
        return cls(settings, train, seed=seed, pool=pool, outcomes=outs)

    def epoch(self, epoch: int, epochs: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Return the dataset rows of ``epoch`` (1-based) in training order, and their weights."""
        rng = np.random.default_rng([self.seed, epoch])
        cap = self.settings.max_samples
        if self.pool is None:
            return rng.permutation(self.train)[:cap], None
        rows = self.train[self.pool.positions]
        if self._sampler is None:  # top setups: alike
            return rng.permutation(rows), None
        beta = beta_schedule(self.settings.beta, epoch, epochs)
        idx, weights = self._sampler.sample(cap or len(rows), beta, rng)
        return rows[idx], weights

    def summary(self) -> dict[str, Any]:
        """Return the replay's settings and pool as plain JSON values."""
        out: dict[str, Any] = {**self.settings.to_json(), "train_candidates": len(self.train)}
        if self.pool is not None:
            out.update(self.pool.to_json())
        if self.outcomes is not None:
            out["horizon"] = self.outcomes.horizon
            out["rapid_moves"] = len(self.outcomes.rapid_moves)
        return out

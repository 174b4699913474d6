"""Replay modes and the pool a replay draws from at a time ``as_of``.

- ``uniform``: every candidate alike (no outcome needed); ``max_samples`` caps an epoch.
- ``profitable``: candidates whose outcome was validated *and known by* ``as_of`` (its horizon
  closed by then), drawn with probability proportional to ``priority ** alpha`` (``priority``,
  ``sampler``); the importance weights ``(N x P(i)) ** -beta`` (normalised by their max, beta
  annealed to 1) go to the loss. ``max_samples``: draws per epoch (default: the pool's size).
- ``top``: the known outcomes scoring ``profitability >= min_profitability``, best first, at
  most ``max_samples`` of them, trained on alike.

An outcome not yet known at ``as_of`` never weighs a sample used at ``as_of``: a backtest
sampling at ``t`` sees only outcomes whose horizon closed by ``t``. A pool with nothing eligible
raises ``DataMissingError`` (one line; the CLI's exit 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.timeframes import format_time
from ghostcandle.engine.samples.priority import PriorityConfig, priorities
from ghostcandle.engine.samples.sampler import top_setups
from ghostcandle.store.outcomes import OutcomeStore


class ReplayMode(StrEnum):
    """How training draws its samples."""

    UNIFORM = "uniform"
    PROFITABLE = "profitable"
    TOP = "top"


@dataclass(frozen=True, kw_only=True)
class ReplaySettings:
    """A replay mode and its knobs (checked by ``check``)."""

    mode: ReplayMode = ReplayMode.UNIFORM
    alpha: float = 0.6
    beta: float = 0.4
    min_profitability: float = 0.7
    max_samples: int | None = None
    #: outcome horizon in candles of the predicted timeframe (None: its default)
    horizon: int | None = None
    priority: PriorityConfig = field(default_factory=PriorityConfig)

    def __post_init__(self) -> None:
        try:  # a plain string (JSON, a form) becomes the enum, so ``is`` comparisons hold
            object.__setattr__(self, "mode", ReplayMode(self.mode))
        except ValueError:
            raise UserInputError(
                f"--replay {self.mode!r} is not a replay mode: use uniform, profitable or top"
            ) from None

    def check(self) -> ReplaySettings:
        """Return self if usable, else raise a one-line ``UserInputError`` naming the option."""
        if not (math.isfinite(self.alpha) and 0.0 <= self.alpha <= 10.0):
            raise UserInputError(f"--alpha {self.alpha} is not in [0, 10]: e.g. 0.6")
        if not (math.isfinite(self.beta) and 0.0 <= self.beta <= 1.0):
            raise UserInputError(f"--beta {self.beta} is not in [0, 1]: e.g. 0.4")
        if not (math.isfinite(self.min_profitability) and 0.0 <= self.min_profitability <= 1.0):
            raise UserInputError(
                f"--min-profitability {self.min_profitability} is not in [0, 1]: e.g. 0.7"
            )
        if self.max_samples is not None and self.max_samples < 1:
            raise UserInputError(f"--max-samples {self.max_samples} must be at least 1")
        if self.horizon is not None and self.horizon < 1:
            raise UserInputError(f"--horizon {self.horizon} must be at least 1 candle")
        return self

    @property
    def needs_outcomes(self) -> bool:
        """Tell whether the mode weighs or selects samples by their outcomes."""
        return self.mode is not ReplayMode.UNIFORM

    def to_json(self) -> dict[str, Any]:
        """Return the settings as plain JSON values."""
        out: dict[str, Any] = {"mode": self.mode.value, "max_samples": self.max_samples}
        if self.mode is ReplayMode.PROFITABLE:
            out.update(alpha=self.alpha, beta=self.beta)
        if self.mode is ReplayMode.TOP:
            out["min_profitability"] = self.min_profitability
        if self.needs_outcomes:
            out["horizon"] = self.horizon
        return out


@dataclass(frozen=True)
class ReplayPool:
    """The candidates a replay may draw at ``as_of``: positions, their priority and score."""

    positions: np.ndarray
    priority: np.ndarray
    profitability: np.ndarray
    as_of: int
    candidates: int

    def __len__(self) -> int:
        return len(self.positions)

    def to_json(self) -> dict[str, Any]:
        """Return the pool's figures as plain JSON values."""
        prof = self.profitability
        return {
            "as_of": self.as_of,
            "candidates": self.candidates,
            "eligible": len(self),
            "mean_profitability": round(float(prof.mean()), 4) if len(prof) else None,
            "profitable_share": round(float((prof > 0.5).mean()), 4) if len(prof) else None,
        }


def replay_pool(
    known_at: np.ndarray,
    validated: np.ndarray,
    profitability: np.ndarray,
    labels: np.ndarray,
    rapid_move: np.ndarray,
    *,
    as_of: int,
    settings: ReplaySettings,
) -> ReplayPool:
    """Return the pool of candidates (one entry per argument row) eligible at ``as_of``.

    A candidate is eligible when its outcome is validated and ``known_at <= as_of``; ``top``
    keeps those scoring ``>= min_profitability``, best first, at most ``max_samples``.
    Raise ``DataMissingError`` when none is.
    """
    known = np.asarray(validated, bool) & (np.asarray(known_at, np.int64) <= as_of)
    prof = np.asarray(profitability, np.float64)
    pos = np.flatnonzero(known)
    if settings.mode is ReplayMode.TOP:
        pos = pos[top_setups(prof[pos], settings.min_profitability, settings.max_samples)]
    if not len(pos):
        raise DataMissingError(no_eligible_message(settings, len(known), int(known.sum()), as_of))
    return ReplayPool(
        positions=pos,
        priority=priorities(prof[pos], np.asarray(labels)[pos], np.asarray(rapid_move)[pos],
                            settings.priority),
        profitability=prof[pos],
        as_of=as_of,
        candidates=len(known),
    )  # fmt: skip


def stored_pool(
    outcomes: OutcomeStore,
    sample_ids: Sequence[str],
    labels: np.ndarray,
    *,
    as_of: int,
    settings: ReplaySettings,
) -> ReplayPool:
    """Return the pool of ``sample_ids`` (with their ``labels``) by their stored outcomes.

    What a live session or a backtest samples from at ``as_of``: only outcomes validated with
    ``known_at <= as_of`` count (``replay_pool``); positions index ``sample_ids``.
    """
    df = outcomes.validated(as_of=as_of).set_index("sample_id")
    known = df.reindex(list(sample_ids))
    found = known["known_at"].notna().to_numpy()
    return replay_pool(
        known["known_at"].fillna(as_of + 1).to_numpy(np.int64),
        found,
        known["profitability"].fillna(0.0).to_numpy(np.float64),
        labels,
        known["rapid_move"].fillna(False).to_numpy(bool),
        as_of=as_of,
        settings=settings,
    )


def no_eligible_message(settings: ReplaySettings, candidates: int, known: int, as_of: int) -> str:
    """Return the one line said when a replay has no eligible sample."""
    when = format_time(as_of)
    if known and settings.mode is ReplayMode.TOP:
        return (
            f"--replay top: none of the {known} samples with an outcome known by {when} scores "
            f"profitability >= {settings.min_profitability}: lower --min-profitability or "
            "widen the range"
        )
    return (
        f"--replay {settings.mode.value}: none of the {candidates} samples has an outcome known "
        f"by {when} (an outcome counts once its horizon has closed): widen the range, "
        "shorten --horizon, or use --replay uniform"
    )

"""Walk-forward evaluation: fixed folds, each fitted on its train window and scored on the next.

``train=30d,test=7d[,step=7d]`` lays folds over the range before anything is trained: fold
``k`` trains on ``[start + k*step, +train)`` and tests on the ``test`` that follows; folds are
added while the test window ends inside the range, and ``step`` (default: ``test``) may not be
shorter than ``test``, so no target is scored twice. Every fold's decisions are checked for
size before the first fit. Within a fold, the fit stops early on a validation split taken from
the end of its *train* window; the test window is used once, after the fit, to score the kept
weights and every baseline on the same targets (ledger rows, ``ledger``), through the
evaluation's public entry point. Every fold is reported, and the aggregate pools the test rows
of all folds (each fold's model predicting only its own test window).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS, format_time
from ghostcandle.engine.evaluation.report import evaluate
from ghostcandle.engine.offline.dataset import DecisionDataset
from ghostcandle.engine.offline.ledger import ledger_frame
from ghostcandle.engine.offline.trainer import (
    EpochResult,
    FitResult,
    FitSettings,
    Split,
    fit,
    split_in_time,
)
from ghostcandle.models.base import Model

_UNITS = {"s": SECOND_MS, "m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS, "w": 7 * DAY_MS}
_PART = re.compile(r"^(train|test|step)=(\d+)([smhdw])$")
_EXAMPLE = "write it as train=30d,test=7d[,step=7d] (units s, m, h, d, w)"


@dataclass(frozen=True)
class WalkForwardSpec:
    """Fold lengths in milliseconds."""

    train_ms: int
    test_ms: int
    step_ms: int
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        """Return the spec as plain JSON values."""
        return {
            "spec": self.text,
            "train_ms": self.train_ms,
            "test_ms": self.test_ms,
            "step_ms": self.step_ms,
        }


def parse_walk_forward(text: str) -> WalkForwardSpec:
    """Parse ``train=30d,test=7d[,step=7d]``; raise a one-line ``UserInputError`` otherwise.

    >>> s = parse_walk_forward("train=30d,test=7d")
    >>> s.train_ms // DAY_MS, s.test_ms // DAY_MS, s.step_ms // DAY_MS
    (30, 7, 7)
    >>> parse_walk_forward("train=2h,test=30m,step=1h").step_ms // MINUTE_MS
    60
    """
    parts: dict[str, int] = {}
    for item in (p.strip() for p in text.split(",")):
        m = _PART.match(item)
        if m is None or m.group(1) in parts:
            raise UserInputError(f"--walk-forward {text!r}: cannot read {item!r}: {_EXAMPLE}")
        parts[m.group(1)] = int(m.group(2)) * _UNITS[m.group(3)]
    if "train" not in parts or "test" not in parts:
        raise UserInputError(f"--walk-forward {text!r} needs train= and test=: {_EXAMPLE}")
    spec = WalkForwardSpec(parts["train"], parts["test"], parts.get("step", parts["test"]), text)
    if min(spec.train_ms, spec.test_ms, spec.step_ms) <= 0:
        raise UserInputError(f"--walk-forward {text!r}: every length must be positive")
    if spec.step_ms < spec.test_ms:
        raise UserInputError(
            f"--walk-forward {text!r}: step is shorter than test, so test windows would "
            "overlap and targets be scored twice: use step >= test"
        )
    return spec


@dataclass(frozen=True)
class Fold:
    """One fold's windows: train ``[train_start, train_end)``, test ``[train_end, test_end)``."""

    index: int
    train_start: int
    train_end: int
    test_end: int

    @property
    def test_start(self) -> int:
        """Return where the test window starts (where the train window ends)."""
        return self.train_end

    def to_json(self) -> dict[str, Any]:
        """Return the fold's windows (epoch ms and ISO)."""
        return {
            "fold": self.index,
            "train": [self.train_start, self.train_end],
            "test": [self.test_start, self.test_end],
            "train_iso": [format_time(self.train_start), format_time(self.train_end)],
            "test_iso": [format_time(self.test_start), format_time(self.test_end)],
        }


def plan_folds(spec: WalkForwardSpec, start: int, end: int) -> list[Fold]:
    """Lay the folds over ``[start, end)``; raise ``UserInputError`` if not one fits."""
    folds: list[Fold] = []
    k = 0
    while start + k * spec.step_ms + spec.train_ms + spec.test_ms <= end:
        a = start + k * spec.step_ms
        folds.append(Fold(k + 1, a, a + spec.train_ms, a + spec.train_ms + spec.test_ms))
        k += 1
    if not folds:
        days = (end - start) / DAY_MS
        raise UserInputError(
            f"range {format_time(start)} .. {format_time(end)} ({days:.2f} days) is shorter "
            f"than one fold ({spec.text}): widen --from/--to or shorten train/test"
        )
    return folds


@dataclass(frozen=True)
class PlannedFold:
    """A fold with its decisions: the fit's train/validation split and the test rows."""

    fold: Fold
    split: Split
    test: np.ndarray

    def to_json(self) -> dict[str, Any]:
        """Return the fold's windows and sample counts."""
        return {
            **self.fold.to_json(),
            "split_time": self.split.split_time,
            "train_samples": len(self.split.train),
            "val_samples": len(self.split.val),
            "test_samples": len(self.test),
        }


def plan(
    data: DecisionDataset, spec: WalkForwardSpec, start: int, end: int, val_fraction: float
) -> list[PlannedFold]:
    """Fix every fold and its decisions before any training; refuse a fold too small."""
    out = []
    for fold in plan_folds(spec, start, end):
        train = data.rows_between(fold.train_start, fold.train_end)
        try:
            split = split_in_time(data, train, val_fraction)
        except DataMissingError as exc:
            raise DataMissingError(f"fold {fold.index}: {exc}") from None
        test = data.rows_between(fold.test_start, fold.test_end)
        if len(test) == 0:
            raise DataMissingError(
                f"fold {fold.index}: no decision in its test window "
                f"{format_time(fold.test_start)} .. {format_time(fold.test_end)} has whole "
                "windows and a stored target: check the stored candles or the fold lengths"
            )
        out.append(PlannedFold(fold, split, test))
    return out


@dataclass(frozen=True)
class FoldResult:
    """One fold scored: its fit, its test predictions (ledger rows) and their evaluation."""

    planned: PlannedFold
    fit: FitResult
    ledger: pd.DataFrame = field(repr=False)
    evaluation: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Return the fold as plain JSON values."""
        return {**self.planned.to_json(), "fit": self.fit.to_json(), "evaluation": self.evaluation}


@dataclass(frozen=True)
class WalkForwardResult:
    """Every fold and the aggregate over their pooled test rows."""

    spec: WalkForwardSpec
    folds: tuple[FoldResult, ...]
    aggregate: dict[str, Any]
    duration_s: float

    def ledger(self) -> pd.DataFrame:
        """Return the test rows of every fold, pooled."""
        return pd.concat([f.ledger for f in self.folds], ignore_index=True)

    def to_json(self) -> dict[str, Any]:
        """Return the walk-forward as plain JSON values."""
        return {
            "walk_forward": self.spec.to_json(),
            "folds": [f.to_json() for f in self.folds],
            "aggregate": {
                "test_samples": sum(len(f.planned.test) for f in self.folds),
                "evaluation": self.aggregate,
            },
            "duration_s": round(self.duration_s, 3),
        }


def run_fold(
    data: DecisionDataset,
    planned: PlannedFold,
    new_model: Callable[[], Model],
    baselines: Callable[[PlannedFold], Sequence[Model]],
    settings: FitSettings,
    *,
    clock: Clock,
    on_epoch: Callable[[EpochResult], None] | None = None,
) -> FoldResult:
    """Fit a fresh model on one fold, score it and the fold's baselines on its test window.

    A fold reads nothing another fold writes, so folds may run in any order or on any worker.
    """
    p = planned
    fitted = fit(new_model(), data, p.split, settings, clock=clock, on_epoch=on_epoch)
    ledger = pd.concat(
        [ledger_frame(data, p.test, m, fold=p.fold.index) for m in (fitted.model, *baselines(p))],
        ignore_index=True,
    )
    return FoldResult(p, fitted, ledger, evaluate(ledger, threshold=data.threshold))


def combine_folds(
    spec: WalkForwardSpec, results: Sequence[FoldResult], threshold: float, duration_s: float
) -> WalkForwardResult:
    """Pool the folds' test rows (in fold order) into the walk-forward's aggregate."""
    ordered = sorted(results, key=lambda r: r.planned.fold.index)
    pooled = pd.concat([r.ledger for r in ordered], ignore_index=True)
    aggregate = evaluate(pooled, threshold=threshold)
    return WalkForwardResult(spec, tuple(ordered), aggregate, duration_s)


def run_walk_forward(
    data: DecisionDataset,
    spec: WalkForwardSpec,
    planned: Sequence[PlannedFold],
    new_model: Callable[[], Model],
    baselines: Callable[[PlannedFold], Sequence[Model]],
    settings: FitSettings,
    *,
    clock: Clock,
    on_epoch: Callable[[int, EpochResult], None] | None = None,
    on_fold: Callable[[FoldResult], None] | None = None,
) -> WalkForwardResult:
    """Fit a fresh model per fold, score it and the fold's baselines on its test window.

    ``baselines(fold)`` returns the baselines of a fold, fitted (where they fit constants) on
    its train window only. ``on_epoch(fold, epoch)`` follows each fit; ``on_fold`` gets each
    scored fold.
    """
    t0 = time.perf_counter()
    results = []
    for p in planned:
        hook = None if on_epoch is None else partial(on_epoch, p.fold.index)
        result = run_fold(data, p, new_model, baselines, settings, clock=clock, on_epoch=hook)
        results.append(result)
        if on_fold is not None:
            on_fold(result)
    return combine_folds(spec, results, data.threshold, time.perf_counter() - t0)

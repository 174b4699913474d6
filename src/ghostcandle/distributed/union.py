"""One fit over many symbols: the union of their datasets, sharded across data-parallel ranks.

Each symbol's decisions and time split are exactly those the single-process trainer builds
(``load_dataset`` + ``split_in_time`` over the request's range); the union numbers every
decision by its symbol's offset plus its row, so with one symbol a decision's number is its
row. An epoch draws the permutation the offline trainer draws (``default_rng((seed, epoch))``
over the training numbers) and cuts it into global batches of ``batch_size``; with ``world``
ranks the last batch is padded by repeating the epoch's first decisions up to a multiple of
``world`` (as torch's ``DistributedSampler`` pads), and rank ``r`` trains on ``batch[r::world]``.
Ranks hold equal shares, so averaging their gradients (DDP) is the gradient of the global
batch's mean loss: the fit is the single-process fit of the same global batches, up to the
order of float sums. With one rank and one symbol it is the offline trainer's fit, batch for
batch. The validation loss is summed over each rank's share of the validation decisions and
the sums are added across ranks (``reduce``), so every rank takes the same early-stopping
decision. Nothing here imports Ray or ``torch.distributed``: the caller passes the step and
the reduction (``distributed.train_worker``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.engine.offline.dataset import DecisionDataset, load_dataset
from ghostcandle.engine.offline.service import OfflineRequest
from ghostcandle.engine.offline.trainer import EpochResult, Split, split_in_time, validation_loss
from ghostcandle.models.base import Model, ModelInputs, TrainingBatch
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

#: one training step of a batch: the loss parts (``"loss"`` among them)
Step = Callable[[Model, TrainingBatch], Mapping[str, float]]
#: add per-rank sums across ranks (identity on one rank)
Reduce = Callable[[list[float]], list[float]]


@dataclass(frozen=True, eq=False)
class Part:
    """One symbol's decisions and its time split."""

    data: DecisionDataset
    split: Split


def load_part(db: Database, req: OfflineRequest, symbol: str, model: Model) -> Part:
    """Return ``symbol``'s decisions over ``req``'s range, split as the offline trainer splits."""
    data = load_dataset(
        CandleStore(db), normalise_symbol(symbol), model.timeframes, model.windows,
        req.start, req.end,
    )  # fmt: skip
    rows = data.rows_between(req.start, req.end)
    return Part(data, split_in_time(data, rows, req.settings.val_fraction))


@dataclass(frozen=True, eq=False)
class Union:
    """The decisions of several symbols, numbered ``offset(symbol) + row``."""

    parts: tuple[Part, ...]
    offsets: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        sizes = [len(p.data) for p in self.parts]
        object.__setattr__(self, "offsets", np.concatenate([[0], np.cumsum(sizes)[:-1]]))

    @property
    def train(self) -> np.ndarray:
        """Return the numbers of every training decision, symbol by symbol, ascending."""
        return np.concatenate(
            [p.split.train + o for p, o in zip(self.parts, self.offsets, strict=True)]
        )

    @property
    def val_samples(self) -> int:
        """Return how many decisions are validated on."""
        return sum(len(p.split.val) for p in self.parts)

    def batch(self, numbers: np.ndarray) -> TrainingBatch:
        """Return the labelled batch of ``numbers`` (ascending), symbol by symbol."""
        which = np.searchsorted(self.offsets, numbers, side="right") - 1
        batches = [
            self.parts[i].data.batch(numbers[which == i] - self.offsets[i])
            for i in np.unique(which).tolist()
        ]
        return batches[0] if len(batches) == 1 else concat(batches)

    def val_sums(self, model: Model, rank: int, world: int) -> list[float]:
        """Return ``[loss sum, decisions]`` over this rank's share of the validation set."""
        total, count = 0.0, 0
        for p in self.parts:
            rows = p.split.val[rank::world]
            if len(rows):
                total += validation_loss(model, p.data, rows) * len(rows)
                count += len(rows)
        return [total, float(count)]


def concat(batches: Sequence[TrainingBatch]) -> TrainingBatch:
    """Return the batches as one (inputs, targets and labels stacked in order)."""
    first = batches[0]
    inputs = ModelInputs(
        windows={
            k: np.concatenate([b.inputs.windows[k] for b in batches]) for k in first.inputs.windows
        },
        extras={
            k: np.concatenate([b.inputs.extras[k] for b in batches]) for k in first.inputs.extras
        },
    )
    return TrainingBatch(
        inputs=inputs,
        targets={k: np.concatenate([b.targets[k] for b in batches]) for k in first.targets},
        actions=np.concatenate([b.actions for b in batches]),
    )


def global_batches(
    train: np.ndarray, seed: int, epoch: int, batch_size: int, world: int
) -> Iterator[np.ndarray]:
    """Yield an epoch's global batches (the last padded to a multiple of ``world``)."""
    order = np.random.default_rng([seed, epoch]).permutation(train)
    pad = (-len(order)) % world
    if pad:
        order = np.concatenate([order, order[:pad]])
    for a in range(0, len(order), batch_size):
        yield order[a : a + batch_size]


@dataclass(frozen=True)
class UnionFit:
    """What a fit over the union returns (rank 0's view; plain values, picklable)."""

    best_state: Mapping[str, Any] = field(repr=False)
    epochs: tuple[EpochResult, ...]
    best_epoch: int
    #: ``(step, loss)`` of every training step, and ``(step, validation loss)`` per epoch
    train_curve: tuple[tuple[int, float], ...]
    val_curve: tuple[tuple[int, float], ...]
    train_samples: int
    val_samples: int
    #: decisions trained on (padding included) per second of the training loop
    samples_per_s: float
    duration_s: float
    world: int

    @property
    def best_val_loss(self) -> float:
        """Return the validation loss of the kept weights."""
        return self.epochs[self.best_epoch - 1].val_loss

    def to_json(self) -> dict[str, Any]:
        """Return the fit as plain JSON values (without the weights)."""
        last = self.epochs[-1]
        return {
            "workers": self.world,
            "epochs": [e.to_json() for e in self.epochs],
            "epochs_run": len(self.epochs),
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_val_loss,
            "final_train_loss": last.train_loss,
            "final_val_loss": last.val_loss,
            "train_samples": self.train_samples,
            "val_samples": self.val_samples,
            "samples_per_s": round(self.samples_per_s, 1),
            "duration_s": round(self.duration_s, 3),
        }


def fit_union(
    model: Model,
    union: Union,
    *,
    epochs: int,
    batch_size: int,
    patience: int,
    seed: int,
    step: Step,
    rank: int = 0,
    world: int = 1,
    reduce: Reduce | None = None,
    pad: int = 1,
) -> UnionFit:
    """Train ``model`` on this rank's shares of the union until validation stops improving.

    ``pad``: pad the global batches as for ``pad`` ranks (one process fitting what ``pad``
    workers fit; a multiple of ``world``).
    """
    train = union.train
    add = reduce or (lambda v: v)
    history: list[EpochResult] = []
    train_curve: list[tuple[int, float]] = []
    val_curve: list[tuple[int, float]] = []
    best_state: Mapping[str, Any] = {}
    best_loss, best_epoch, stale, trained = math.inf, 0, 0, 0
    t_start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        steps: list[int] = []
        local: list[float] = []  # per step: this rank's loss * rows, then its rows
        for gb in global_batches(train, seed, epoch, batch_size, max(world, pad)):
            share = np.sort(gb[rank::world], kind="stable")
            losses = step(model, union.batch(share))
            steps.append(model.step)
            local += [float(losses["loss"]) * len(share), float(len(share))]
            trained += len(gb)
        train_s = time.perf_counter() - t0
        # one reduction per epoch: every step's loss sums, then the validation sums
        summed = add([*local, *union.val_sums(model, rank, world)])
        pairs = np.asarray(summed[:-2]).reshape(-1, 2)
        train_curve += [(st, float(a / n)) for st, (a, n) in zip(steps, pairs, strict=True)]
        rows = float(pairs[:, 1].sum())
        train_loss = float(pairs[:, 0].sum()) / rows
        val_loss = summed[-2] / summed[-1]
        val_curve.append((model.step, val_loss))
        improved = val_loss < best_loss
        if improved:
            best_loss, best_epoch, stale = val_loss, epoch, 0
            best_state = model.state_dict() if rank == 0 else {}
        else:
            stale += 1
        history.append(
            EpochResult(
                epoch=epoch, epochs=epochs, train_loss=train_loss, val_loss=val_loss,
                best=improved, failed_steps=0, duration_s=time.perf_counter() - t0,
                train_s=train_s, samples=int(rows),
            )
        )  # fmt: skip
        if stale >= patience:
            break
    elapsed = time.perf_counter() - t_start
    return UnionFit(
        best_state=best_state,
        epochs=tuple(history),
        best_epoch=best_epoch,
        train_curve=tuple(train_curve),
        val_curve=tuple(val_curve),
        train_samples=len(train),
        val_samples=union.val_samples,
        samples_per_s=trained / elapsed if elapsed > 0 else 0.0,
        duration_s=elapsed,
        world=world,
    )

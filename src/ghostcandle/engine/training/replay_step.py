"""Recompute a recorded training step from stored references and prove its result.

``replay_step(db, STEP_ID)`` rebuilds the model of the step's run and the state it had before
the step, then recomputes the step and compares the hash of the state after it with the
recorded one. Exact replay needs no stored gradient: the state before, the batch and the step's
seed determine the state after, bit for bit, under the same torch settings.

The state before is found as:

1. the newest checkpoint of the run (its ``checkpoint_key``, written while the run ran) at a
   step from the run's start up to the step before; else
2. the run's start: the fresh weights of its config when it started at step 0.

From there every recorded step up to the one asked for is replayed in order, each checked
twice: the state before it must hash as recorded (a changed checkpoint is caught here), and so
must the state after it (a changed candle, annotation or weight is caught here). The first
difference ends the replay with one line (``ReplayMismatchError``). Each step runs under the torch
settings it was recorded with (intra-op threads, deterministic algorithms) and draws its random
numbers from its recorded seed (the model's own per-step seed, checked).

Batches are rebuilt by the source their records name: ``frames`` (a session's batches:
``build_batch`` from the frame ids, at the recorded ``now``), ``annotations`` (the run's
annotations, ``build_annotation_batch``), and whatever the caller adds (``sources``: the
offline fits' ``decisions``, in ``engine/offline/step_batches.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ghostcandle.domain.clock import Clock, LiveClock
from ghostcandle.domain.errors import DataMissingError, GhostcandleError
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.engine.training.annotation_training import build_annotation_batch
from ghostcandle.engine.training.batches import FRAMES, build_batch
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.engine.training.policy import TrainingSample
from ghostcandle.engine.training.series_cache import SeriesCache
from ghostcandle.engine.training.step_facts import gradients, state_hash, step_seed
from ghostcandle.engine.training.trainer import restore
from ghostcandle.models.base import Model, TrainingBatch
from ghostcandle.models.registry import create_model
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.step_records import StepRecord, StepRecordStore
from ghostcandle.store.training_runs import RunRow, TrainingRunStore

ANNOTATIONS = "annotations"

#: Rebuild one recorded step's batch.
BatchSource = Callable[[StepRecord], TrainingBatch]
#: Make the batch source of a run (its database, its row).
SourceFactory = Callable[[Database, RunRow], BatchSource]


class ReplayMismatchError(GhostcandleError):
    """A replayed step did not reproduce its record (one line: where and how)."""


@dataclass(frozen=True)
class ReplayProof:
    """A reproduced step: where the replay started, how many steps it ran, the hash proved."""

    step_id: str
    start: str
    replayed: int
    hash_after: str
    losses: Mapping[str, float]
    gradients_file: str | None = None

    def line(self) -> str:
        """Return the one-line proof."""
        grads = f"; gradients in {self.gradients_file}" if self.gradients_file else ""
        return (
            f"step {self.step_id} reproduced: from {self.start}, {self.replayed} step(s) "
            f"replayed, weights after hash {self.hash_after} as recorded{grads}"
        )

    def to_json(self) -> dict[str, Any]:
        """Return the proof as plain JSON values."""
        return {
            "step_id": self.step_id,
            "reproduced": True,
            "start": self.start,
            "replayed": self.replayed,
            "hash_after": self.hash_after,
            "losses": dict(self.losses),
            "gradients_file": self.gradients_file,
        }


def gradients_dir_for(db_path: str | Path) -> Path:
    """Return where ``--store-gradients`` writes: ``<db>.gradients/`` beside the database."""
    p = Path(db_path)
    return p.with_name(p.name + ".gradients")


def replay_step(
    db: Database,
    step_id: str,
    *,
    sources: Mapping[str, SourceFactory] | None = None,
    store_gradients: bool = False,
    clock: Clock | None = None,
) -> ReplayProof:
    """Recompute step ``step_id`` and prove its after-hash (see the module doc).

    Raise ``UserInputError`` for an unknown id, ``DataMissingError`` when no state to start
    from is stored, ``ReplayMismatchError`` (one line) when any hash differs.
    """
    records = StepRecordStore(db)
    target = records.require(step_id)
    run = TrainingRunStore(db).require(target.run_id)
    model = create_model(run.model, **dict(run.model_config))
    start, start_step = _start_state(db, run, target, model, clock or LiveClock())
    chain = records.for_run(run.run_id, after=start_step, upto=target.step)
    expected = list(range(start_step + 1, target.step + 1))
    if [r.step for r in chain] != expected:
        missing = sorted(set(expected) - {r.step for r in chain})
        raise DataMissingError(
            f"run {run.run_id} has no record of step(s) {_span(missing)} between {start} and "
            f"step {target.step}: it cannot be replayed"
        )
    factories = {**default_sources(), **dict(sources or {})}
    batches: dict[str, BatchSource] = {}
    losses: Mapping[str, float] = {}
    threads = torch.get_num_threads()
    try:
        for rec in chain:
            kind = str(rec.batch_refs.get("kind") or run.source.get("kind") or "")
            if kind not in factories:
                raise DataMissingError(
                    f"step {rec.step_id}: no way to rebuild a batch of source {kind!r}"
                )
            if kind not in batches:
                batches[kind] = factories[kind](db, run)
            losses = _replay_one(model, rec, batches[kind])
    finally:
        torch.set_num_threads(threads)
    grads_file = None
    if store_gradients:
        out = gradients_dir_for(db.path)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{step_id.replace(':', '-').replace('/', '_')}.pt"
        torch.save(gradients(model), path)
        grads_file = str(path)
    return ReplayProof(step_id, start, len(chain), target.hash_after, losses, grads_file)


def _replay_one(model: Model, rec: StepRecord, batch_of: BatchSource) -> Mapping[str, float]:
    """Recompute ``rec`` on ``model`` (which it changes); raise on any difference."""
    before = state_hash(model)
    if before != rec.hash_before:
        raise ReplayMismatchError(
            f"step {rec.step_id}: the state before it hashes {before}, the record says "
            f"{rec.hash_before}: the weights it started from were changed"
        )
    seed = step_seed(model)
    if rec.seed is not None and seed is not None and seed != rec.seed:
        raise ReplayMismatchError(f"step {rec.step_id}: seed {seed} is not the recorded {rec.seed}")
    try:
        batch = batch_of(rec)
    except DataMissingError as exc:  # a changed candle or annotation: not the recorded batch
        msg = f"step {rec.step_id}: its batch cannot be rebuilt: {exc}"
        raise ReplayMismatchError(msg) from None
    torch.set_num_threads(max(1, rec.torch_threads))
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(rec.deterministic)
    try:
        losses = model.train_step(batch)
    finally:
        torch.use_deterministic_algorithms(was)
    after = state_hash(model)
    if after != rec.hash_after:
        raise ReplayMismatchError(
            f"step {rec.step_id}: the weights after it hash {after}, the record says "
            f"{rec.hash_after}: its batch or starting weights differ from the recorded ones"
        )
    return losses


def _start_state(
    db: Database, run: RunRow, target: StepRecord, model: Model, clock: Clock
) -> tuple[str, int]:
    """Load the newest usable state before ``target`` into ``model``; name it and its step."""
    if run.checkpoint_key:
        store = CheckpointStore(checkpoint_dir_for(db.path), clock)
        ended = run.ended_at if run.ended_at is not None else 2**62
        usable = [
            info
            for info in store.list(run.checkpoint_key)
            if run.start_step <= info.step < target.step
            and run.started_at <= info.created_at <= ended
        ]
        if usable:
            info = max(usable, key=lambda i: (i.step, i.created_at))
            try:
                restore(model, store.load(info), info.path)
            except DataMissingError as exc:  # its bytes changed since it was written
                raise ReplayMismatchError(f"run {run.run_id}: {exc}") from None
            return f"checkpoint {run.checkpoint_key}/{info.name} at step {info.step}", info.step
    if run.start_step == 0:
        got = state_hash(model)
        if got != run.start_hash:
            raise ReplayMismatchError(
                f"run {run.run_id}: fresh {run.model} weights hash {got}, the run started from "
                f"{run.start_hash}: the model code or its config changed since"
            )
        return "the initial weights", 0
    raise DataMissingError(
        f"run {run.run_id} started at step {run.start_step} and no checkpoint of it at or "
        f"before step {target.step - 1} is stored: step {target.step_id} cannot be replayed"
    )


def _span(steps: list[int]) -> str:
    return str(steps[0]) if len(steps) == 1 else f"{steps[0]}..{steps[-1]} ({len(steps)})"


def frames_source(db: Database, run: RunRow) -> BatchSource:
    """Rebuild a session's batches: ``build_batch`` over the recorded frames at ``now``."""
    del run
    frames = FrameStore(db, CandleStore(db))
    # consecutive steps share most frames and candles: read each once
    cache = SeriesCache(frames.candles)
    known: dict[str, FrameRef] = {}

    def frame(fid: str) -> FrameRef:
        if fid not in known:
            known[fid] = frames.get(fid)
        return known[fid]

    def rebuild(rec: StepRecord) -> TrainingBatch:
        refs = rec.batch_refs
        known.update(frames.get_many(f for f in rec.sample_ids if f not in known))
        samples = [
            TrainingSample(frame(fid), str(tf), int(action), TrainingSource.ONLINE)
            for fid, (tf, action) in zip(rec.sample_ids, refs["samples"], strict=True)
        ]
        windows, tfs = dict(refs["windows"]), tuple(refs["timeframes"])
        built = build_batch(frames, samples, windows, tfs, int(refs["now"]), cache)
        kept = () if built is None else built.frame_ids
        if kept != rec.sample_ids:
            lost = [f for f in rec.sample_ids if f not in set(kept)]
            raise DataMissingError(
                f"the candles of frame(s) {', '.join(lost[:3])} changed or are gone"
            )
        assert built is not None
        return built.batch

    return rebuild


def annotations_source(db: Database, run: RunRow) -> BatchSource:
    """Rebuild an annotation run's batch from its annotations (the same batch every epoch)."""
    store = AnnotationStore(db, CandleStore(db), Path(db.path).parent / "test_cases", LiveClock())
    anns = [store.get(str(a)) for a in run.source.get("annotation_ids", [])]
    built: list[TrainingBatch] = []

    def rebuild(rec: StepRecord) -> TrainingBatch:
        del rec
        if not built:
            built.append(build_annotation_batch(store, anns).batch)
        return built[0]

    return rebuild


def default_sources() -> dict[str, SourceFactory]:
    """Return the batch sources of the training room: session frames and annotations."""
    return {FRAMES: frames_source, ANNOTATIONS: annotations_source}

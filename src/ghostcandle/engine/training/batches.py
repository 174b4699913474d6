"""Turn training samples (frames by reference) into a model batch, reading only the store.

Each frame's input is re-read from the candle store and must hash as recorded; its
target is the candle it predicted, used only if that candle has closed by ``now``. Samples whose
candles were changed or are missing are dropped and counted, never silently altered.

Consecutive batches read nearly the same candles, so they read them through a ``SeriesCache``
(``series_cache.py``). A sample that does not match from the cache is tried again on a fresh
read of the store, so the cache never drops a sample that the store would have given.

A built batch carries its ``source_refs`` (the frame ids, each sample's timeframe and label,
``now`` and the model's shape), from which a recorded step rebuilds it (``replay_step.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ghostcandle.domain.frames import FrameRef, frame_hash
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.domain.window import Window
from ghostcandle.engine.training.policy import TrainingSample
from ghostcandle.engine.training.series_cache import Arrays, SeriesCache
from ghostcandle.models.base import TrainingBatch
from ghostcandle.models.depth_input import with_depth
from ghostcandle.models.inputs import normalise_targets, prepare_inputs, training_batch
from ghostcandle.store.depth import DepthStore
from ghostcandle.store.frames import FrameStore


@dataclass(frozen=True)
class BuiltBatch:
    """A batch ready for ``train_step``, the frames it came from, and the samples dropped."""

    batch: TrainingBatch
    frame_ids: tuple[str, ...]
    dropped: int


#: ``source_refs["kind"]`` of a batch built from frame references
FRAMES = "frames"


def build_batch(
    frames: FrameStore,
    samples: Sequence[TrainingSample],
    windows: Mapping[str, int],
    timeframes: Sequence[str],
    now: int,
    cache: SeriesCache | None = None,
    *,
    depth: int = 0,
) -> BuiltBatch | None:
    """Materialise ``samples`` into a labelled batch for a model reading ``windows``.

    The candles of each series are read once for the whole batch (through ``cache`` if given),
    then every frame's windows are sliced out and checked against its recorded hash. A model
    that reads ``depth`` per-second books gets them as stored at or before each frame's decision
    time (a sample without them is dropped and counted). Return None when no sample is usable.
    """
    cache = cache or SeriesCache(frames.candles)
    ranges: dict[tuple[str, str], list[int]] = {}
    for s in samples:
        for spec in s.frame.windows:
            r = ranges.setdefault((s.frame.symbol, spec.timeframe), [spec.start_open_time, 0])
            r[0] = min(r[0], spec.start_open_time)
            r[1] = max(r[1], spec.end_open_time)
        if s.frame.target_time is not None and s.frame.target_time <= now:
            r = ranges.setdefault((s.frame.symbol, s.timeframe), [2**62, 0])
            target_open = s.frame.target_time - duration_ms(s.timeframe)
            r[0], r[1] = min(r[0], target_open), max(r[1], target_open)
    series = {key: cache.read(*key, lo, hi) for key, (lo, hi) in ranges.items()}
    refreshed = False
    raw: list[dict[str, np.ndarray]] = []
    targets: list[dict[str, np.ndarray]] = []
    actions: list[int] = []
    ids: list[str] = []
    kept: list[TrainingSample] = []
    dropped = 0
    for s in samples:
        got = _sample(series, s, now)
        if got is None and not refreshed:
            # maybe the cache missed a candle stored late: judge the sample on the store itself
            series = {key: cache.read(*key, lo, hi, fresh=True) for key, (lo, hi) in ranges.items()}
            refreshed = True
            got = _sample(series, s, now)
        if got is None:
            dropped += 1  # candles missing or changed since the prediction: never guess
            continue
        ws, target = got
        closed = s.frame.target_time is not None and s.frame.target_time <= now
        if not target and closed and not refreshed:
            # the target closed but is not in the cache: ask the store
            series = {key: cache.read(*key, lo, hi, fresh=True) for key, (lo, hi) in ranges.items()}
            refreshed = True
            target = _target(series, s, now)
        raw.append({w.spec.timeframe: w.values for w in ws})
        targets.append(target)
        actions.append(s.action)
        ids.append(s.frame.frame_id)
        kept.append(s)
    books = None
    if depth and raw:
        books, ok = _books(frames, samples, ids, depth)
        keep = np.flatnonzero(ok)
        dropped += len(raw) - len(keep)
        raw, targets = [raw[i] for i in keep], [targets[i] for i in keep]
        actions, ids, books = [actions[i] for i in keep], [ids[i] for i in keep], books[keep]
    if not raw:
        return None
    inputs, params = prepare_inputs(raw, windows)
    if books is not None:
        inputs = with_depth(inputs, books)
    norm_targets = normalise_targets(targets, params, timeframes)
    batch = replace(
        training_batch(inputs, norm_targets, actions),
        source_refs=frame_refs(ids, kept, now, windows, timeframes),
    )
    return BuiltBatch(batch, tuple(ids), dropped)


def frame_refs(
    frame_ids: Sequence[str],
    samples: Sequence[TrainingSample],
    now: int,
    windows: Mapping[str, int],
    timeframes: Sequence[str],
) -> dict[str, Any]:
    """Return how ``build_batch`` rebuilds a batch of these samples at ``now`` (plain JSON)."""
    return {
        "kind": FRAMES,
        "id_kind": "frame",
        "ids": list(frame_ids),
        "samples": [[s.timeframe, int(s.action)] for s in samples],
        "now": int(now),
        "windows": dict(windows),
        "timeframes": list(timeframes),
    }


def _books(
    frames: FrameStore, samples: Sequence[TrainingSample], ids: Sequence[str], depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return the stored books of the kept samples (by frame id) and which were complete."""
    by_id = {s.frame.frame_id: s.frame for s in samples}
    store = DepthStore(frames.candles.db)
    out = np.zeros((len(ids), depth, 20, 4))
    ok = np.zeros(len(ids), dtype=bool)
    for i, fid in enumerate(ids):
        f = by_id[fid]
        got, fine = store.levels_at(f.symbol, [f.decision_time], depth)
        out[i], ok[i] = got[0], fine[0]
    return out, ok


def _sample(
    series: Mapping[tuple[str, str], Arrays], s: TrainingSample, now: int
) -> tuple[list[Window], dict[str, np.ndarray]] | None:
    """Return the sample's windows (hash checked) and its target if closed, or None."""
    ws = _windows(series, s.frame)
    if ws is None or frame_hash(ws) != s.frame.input_hash:
        return None
    return ws, _target(series, s, now)


def _target(
    series: Mapping[tuple[str, str], Arrays], s: TrainingSample, now: int
) -> dict[str, np.ndarray]:
    if s.frame.target_time is None or s.frame.target_time > now:
        return {}
    t, v = series[(s.frame.symbol, s.timeframe)]
    target_open = s.frame.target_time - duration_ms(s.timeframe)
    i = int(np.searchsorted(t, target_open))
    return {s.timeframe: v[i]} if i < len(t) and t[i] == target_open else {}


def _windows(
    series: Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray]], frame: FrameRef
) -> list[Window] | None:
    out = []
    for spec in frame.windows:
        t, v = series[(frame.symbol, spec.timeframe)]
        i = int(np.searchsorted(t, spec.start_open_time))
        j = i + spec.length
        if j > len(t) or t[i] != spec.start_open_time or t[j - 1] != spec.end_open_time:
            return None
        out.append(Window(frame.symbol, spec, t[i:j].copy(), v[i:j].copy()))
    return out

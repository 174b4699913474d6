"""Turn training samples (frames by reference) into a model batch, reading only the store.

Each frame's input is re-read from the candle store and must hash as recorded; its
target is the candle it predicted, used only if that candle has closed by ``now``. Samples whose
candles were changed or are missing are dropped and counted, never silently altered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.frames import FrameRef, frame_hash
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.domain.window import Window
from ghostcandle.engine.training_policy import TrainingSample
from ghostcandle.models.base import TrainingBatch
from ghostcandle.models.inputs import normalise_targets, prepare_inputs, training_batch
from ghostcandle.store.frames import FrameStore


@dataclass(frozen=True)
class BuiltBatch:
    """A batch ready for ``train_step``, the frames it came from, and the samples dropped."""

    batch: TrainingBatch
    frame_ids: tuple[str, ...]
    dropped: int


def build_batch(
    frames: FrameStore,
    samples: Sequence[TrainingSample],
    windows: Mapping[str, int],
    timeframes: Sequence[str],
    now: int,
) -> BuiltBatch | None:
    """Materialise ``samples`` into a labelled batch for a model reading ``windows``.

    The candles of each series are read once for the whole batch, then every frame's windows
    are sliced out and checked against its recorded hash. Return None when no sample is usable.
    """
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
    series: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for (symbol, tf), (lo, hi) in ranges.items():
        df = frames.candles.read(symbol, tf, lo, hi)
        series[(symbol, tf)] = (
            df["open_time"].to_numpy(dtype=np.int64),
            df[list(VALUE_COLUMNS)].to_numpy(dtype=np.float64),
        )
    raw: list[dict[str, np.ndarray]] = []
    targets: list[dict[str, np.ndarray]] = []
    actions: list[int] = []
    ids: list[str] = []
    dropped = 0
    for s in samples:
        ws = _windows(series, s.frame)
        if ws is None or frame_hash(ws) != s.frame.input_hash:
            dropped += 1  # candles missing or changed since the prediction: never guess
            continue
        raw.append({w.spec.timeframe: w.values for w in ws})
        target: dict[str, np.ndarray] = {}
        if s.frame.target_time is not None and s.frame.target_time <= now:
            t, v = series[(s.frame.symbol, s.timeframe)]
            target_open = s.frame.target_time - duration_ms(s.timeframe)
            i = int(np.searchsorted(t, target_open))
            if i < len(t) and t[i] == target_open:
                target[s.timeframe] = v[i]
        targets.append(target)
        actions.append(s.action)
        ids.append(s.frame.frame_id)
    if not raw:
        return None
    inputs, params = prepare_inputs(raw, windows)
    norm_targets = normalise_targets(targets, params, timeframes)
    return BuiltBatch(training_batch(inputs, norm_targets, actions), tuple(ids), dropped)


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

"""Turn training samples (frames by reference) into a model batch, reading only the store.

Each frame's input is re-materialised from the candle store and must hash as recorded; its
target is the candle it predicted, used only if that candle has closed by ``now``. Samples whose
candles were changed or are missing are dropped and counted, never silently altered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.timeframes import duration_ms
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

    Return None when no sample could be used.
    """
    raw: list[dict[str, np.ndarray]] = []
    targets: list[dict[str, np.ndarray]] = []
    actions: list[int] = []
    ids: list[str] = []
    dropped = 0
    for s in samples:
        try:
            ws = frames.get_inference_data(s.frame)
        except DataMissingError:
            dropped += 1
            continue
        raw.append({w.spec.timeframe: w.values for w in ws})
        target: dict[str, np.ndarray] = {}
        if s.frame.target_time is not None and s.frame.target_time <= now:
            open_time = s.frame.target_time - duration_ms(s.timeframe)
            df = frames.candles.read(s.frame.symbol, s.timeframe, open_time, open_time)
            if len(df) == 1:
                target[s.timeframe] = df[["open", "high", "low", "close", "volume"]].to_numpy(
                    dtype=np.float64
                )[0]
        targets.append(target)
        actions.append(s.action)
        ids.append(s.frame.frame_id)
    if not raw:
        return None
    inputs, params = prepare_inputs(raw, windows)
    norm_targets = normalise_targets(targets, params, timeframes)
    return BuiltBatch(training_batch(inputs, norm_targets, actions), tuple(ids), dropped)

"""Build model batches from raw windows: normalise per window, stack, and label targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ghostcandle.domain.normalisation import frame_norm_params, normalise
from ghostcandle.models.base import ModelInputs, TrainingBatch


def prepare_inputs(
    samples: Sequence[Mapping[str, np.ndarray]], windows: Mapping[str, int]
) -> tuple[ModelInputs, list[dict[str, float]]]:
    """Normalise and stack raw samples for a model reading ``windows`` (tf -> length).

    Each sample maps a timeframe to its raw ``(n, 5)`` OHLCV window, oldest first, with
    ``n >= windows[tf]``; only the last ``windows[tf]`` candles are used and normalised on their
    own. Return the batch and each sample's normalisation parameters (for its ``FrameRef``).
    """
    if not samples:
        raise ValueError("no samples to predict on: give at least one sample")
    params: list[dict[str, float]] = []
    stacked: dict[str, np.ndarray] = {
        tf: np.empty((len(samples), n, 5), dtype=np.float64) for tf, n in windows.items()
    }
    for i, sample in enumerate(samples):
        cut = {tf: _cut(tf, sample, n) for tf, n in windows.items()}
        p = frame_norm_params(cut)
        for tf, values in cut.items():
            stacked[tf][i] = normalise(tf, values, p)
        params.append(p)
    return ModelInputs(windows=stacked), params


def _cut(tf: str, sample: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    if tf not in sample:
        raise ValueError(f"sample lacks a {tf} window: give one window per model timeframe")
    v = np.asarray(sample[tf], dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 5 or v.shape[0] < n:
        raise ValueError(
            f"{tf} window has shape {v.shape}: the model needs at least ({n}, 5) OHLCV candles"
        )
    return v[-n:]


def normalise_targets(
    targets: Sequence[Mapping[str, np.ndarray]],
    norm_params: Sequence[Mapping[str, float]],
    timeframes: Sequence[str],
) -> dict[str, np.ndarray]:
    """Normalise each sample's actual next candles with that sample's input parameters.

    ``targets[i]`` maps a timeframe to the raw ``(5,)`` OHLCV candle that followed sample
    ``i``'s window; a missing timeframe becomes a NaN row (not known, ignored by the loss).
    """
    out = {tf: np.full((len(targets), 5), np.nan, dtype=np.float32) for tf in timeframes}
    for i, (sample, p) in enumerate(zip(targets, norm_params, strict=True)):
        for tf, candle in sample.items():
            if tf in out:
                out[tf][i] = normalise(tf, np.asarray(candle, dtype=np.float64), p)
    return out


def training_batch(
    inputs: ModelInputs,
    targets: Mapping[str, np.ndarray],
    actions: Sequence[int] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
) -> TrainingBatch:
    """Assemble a labelled batch, checking that every part has one row per sample."""
    n = inputs.batch_size
    acts = np.asarray(actions, dtype=np.int64).reshape(-1)
    if acts.shape[0] != n:
        raise ValueError(f"{acts.shape[0]} action labels for {n} samples: give one per sample")
    for tf, t in targets.items():
        if t.shape != (n, 5):
            raise ValueError(f"{tf} targets have shape {t.shape}: give ({n}, 5)")
    w = None if weights is None else np.asarray(weights, dtype=np.float32).reshape(-1)
    if w is not None and w.shape[0] != n:
        raise ValueError(f"{w.shape[0]} weights for {n} samples: give one per sample")
    return TrainingBatch(inputs=inputs, targets=dict(targets), actions=acts, weights=w)

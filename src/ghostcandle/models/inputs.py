"""Build model batches from raw windows: normalise per window, stack, and label targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ghostcandle.domain.normalisation import (
    WindowScales,
    normalise,
    normalise_windows,
    one_window_scales,
    param_keys,
    window_scales,
)
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
    raw = {tf: np.stack([_cut(tf, sample, n) for sample in samples]) for tf, n in windows.items()}
    inputs, scales = prepare_stacked_inputs(raw)
    params: list[dict[str, float]] = []
    for i in range(len(samples)):
        p: dict[str, float] = {}
        for s in scales.values():
            p.update(s.params(i))
        params.append(p)
    return inputs, params


def prepare_stacked_inputs(
    raw: Mapping[str, np.ndarray],
) -> tuple[ModelInputs, dict[str, WindowScales]]:
    """Normalise raw windows already stacked per timeframe: tf -> ``(batch, length, 5)`` OHLCV.

    Each window is normalised on its own; ``prepare_inputs`` runs this too, so a window's
    input and parameters are the same bits whichever way it is given. Return the batch and
    each timeframe's parameters.
    """
    scales = {tf: window_scales(tf, w) for tf, w in raw.items()}
    sizes = {tf: len(s.price_ref) for tf, s in scales.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(
            f"stacked windows hold different numbers of samples ({sizes}): "
            "give every timeframe one window per sample"
        )
    stacked = {tf: normalise_windows(w, scales[tf]) for tf, w in raw.items()}
    return ModelInputs(windows=stacked), scales


def prepare_window(tf: str, values: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Normalise one raw ``(length, 5)`` window as ``prepare_inputs`` does a batch of one.

    Return the ``(1, length, 5)`` input (read-only) and the window's parameters: a caller may
    keep them for as long as the window does not change (a loop tick's coarser windows).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 5 or v.shape[0] == 0:
        window_scales(tf, v[np.newaxis])  # refuses the shape with the batch rule's own message
    # the rule of ``prepare_stacked_inputs`` for a batch of one, its bits in fewer numpy calls
    ref, price_scale, volume_scale = one_window_scales(tf, v)
    out = np.subtract(v, np.array((ref, ref, ref, ref, 0.0)))
    out /= np.array((price_scale, price_scale, price_scale, price_scale, volume_scale))
    out = out[np.newaxis]
    out.flags.writeable = False
    k_ref, k_scale, k_vol = param_keys(tf)
    return out, {k_ref: ref, k_scale: price_scale, k_vol: volume_scale}


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

"""Order-book depth as an extra model input (``ModelInputs.extras["depth"]``).

A model that reads depth says so with a ``depth_window`` attribute: the number of per-second
book snapshots it reads, ending at the decision time (the engine reads them from the depth
table, rows at or before the decision time only). The extra is float32 ``(batch, window,
levels, 4)``: per level, the bid's offset from the decision-time mid in basis points, the bid
quantity, the ask's offset in basis points and the ask quantity; bids best first, asks best
first. Offsets are computed in float64 before the cast, so a 0.01 tick on a 60,000 price
(0.0017 bp) survives.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ghostcandle.domain.order_book import HOW_TO_GET_DEPTH
from ghostcandle.models.base import Model, ModelInputs

DEPTH = "depth"


def depth_window(model: Model) -> int:
    """Return how many per-second book snapshots ``model`` reads (0: it reads no depth)."""
    return int(getattr(model, "depth_window", 0))


def depth_features(books: np.ndarray) -> np.ndarray:
    """Turn raw books ``(B, N, L, 4)`` (bid price, bid qty, ask price, ask qty) into the extra.

    Prices become offsets from the mid of each sample's last (decision-time) book, in basis
    points; quantities are kept.
    """
    b = np.asarray(books, dtype=np.float64)
    if b.ndim != 4 or b.shape[3] != 4:
        raise ValueError(f"books have shape {b.shape}: give (batch, snapshots, levels, 4)")
    mid = (b[:, -1, 0, 0] + b[:, -1, 0, 2]) / 2.0
    if not np.all(mid > 0):
        raise ValueError("a decision-time book has no positive touch: give valid books")
    out = b.copy()
    scale = 1e4 / mid[:, None, None]
    out[..., 0] = (b[..., 0] - mid[:, None, None]) * scale
    out[..., 2] = (b[..., 2] - mid[:, None, None]) * scale
    return out.astype(np.float32)


def with_depth(inputs: ModelInputs, books: np.ndarray) -> ModelInputs:
    """Return ``inputs`` with the depth extra built from raw ``books`` (one per sample)."""
    extra = depth_features(books)
    if extra.shape[0] != inputs.batch_size:
        raise ValueError(
            f"{extra.shape[0]} depth samples for a batch of {inputs.batch_size}: give one each"
        )
    return replace(inputs, extras={**inputs.extras, DEPTH: extra})


def depth_input(inputs: ModelInputs, window: int, levels: int, family: str) -> np.ndarray:
    """Return the last ``window`` snapshots and first ``levels`` levels of the depth extra.

    Raise a one-line ``ValueError`` saying how to get depth when the inputs carry none.
    """
    raw = inputs.extras.get(DEPTH)
    if raw is None:
        raise ValueError(
            f"the {family} model reads the order book but got none: {HOW_TO_GET_DEPTH}"
        )
    d = np.asarray(raw)
    if d.ndim != 4 or d.shape[1] < window or d.shape[2] < levels or d.shape[3] != 4:
        raise ValueError(
            f"depth input has shape {d.shape}: the {family} model needs "
            f"(batch, >= {window}, >= {levels}, 4)"
        )
    return np.ascontiguousarray(d[:, -window:, :levels], dtype=np.float32)

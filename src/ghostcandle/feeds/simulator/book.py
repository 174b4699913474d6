"""A synthetic top-20 order book around the market's last price (deterministic per 100 ms)."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from ghostcandle.feeds.binance_format import DEPTH_LEVELS, fmt


def book_payload(symbol: str, mid: float, t_ms: int, seed: int, update_id: int) -> dict[str, Any]:
    """Return a partial-book object (``lastUpdateId``, ``bids``, ``asks``) as Binance sends it."""
    rng = np.random.default_rng([seed, zlib.crc32(symbol.encode()), t_ms // 100])
    tick = max(0.01, round(mid * 1e-5, 2))
    gaps = 1 + rng.integers(0, 3, size=(2, DEPTH_LEVELS))
    offsets = np.cumsum(gaps, axis=1) * tick
    qty = np.round(rng.lognormal(0.0, 1.0, size=(2, DEPTH_LEVELS)), 4) + 0.0001
    best_bid = round(mid - tick / 2, 2)
    best_ask = round(best_bid + tick, 2)
    bids = [
        [fmt(best_bid - o + gaps[0, 0] * tick), fmt(q)]
        for o, q in zip(offsets[0], qty[0], strict=True)
    ]
    asks = [
        [fmt(best_ask + o - gaps[1, 0] * tick), fmt(q)]
        for o, q in zip(offsets[1], qty[1], strict=True)
    ]
    return {"lastUpdateId": update_id, "bids": bids, "asks": asks}

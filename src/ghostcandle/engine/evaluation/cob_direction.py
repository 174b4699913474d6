"""Direction of the mid over the next seconds: the cob model against the book and persistence.

On every stored capture (a run of per-second books with levels, split where a second is
missing for more than ``MAX_AGE_MS``): decision seconds ``t`` with ``window`` seconds of books
before them and ``max(horizons)`` after. Each capture is split by time at 70%: a decision is a
*training* one when ``t + h`` is at or before the split (its label never reaches into the test
part) and a *test* one when ``t`` is at or after it. Scored on the test decisions whose mid
moved (``mid(t + h) != mid(t)``):

- ``cob``: one model per horizon, trained on the training decisions of every capture (fixed
  settings below, never tuned on the test part); its direction is the sign of
  ``p(BUY) - p(SELL)``. Labels: BUY if the mid rose over ``h``, SELL if it fell, HOLD if not.
- ``imbalance L1`` / ``L5``: the sign of the decision-time book's queue imbalance (top 1 / 5).
- ``persistence``: the sign of the mid's move over the previous ``h`` seconds (no call when the
  mid did not move: counted in ``coverage``).

Candles: the captures hold no klines, so the candle input is the per-second *mid* candle (open
the previous second's mid, close this second's, high/low the larger/smaller, volume the taker
volume of the second). Accuracy over the decisions where a method called a direction, with a
95% Wilson interval that treats decisions as independent (overlapping horizons make it too
narrow at 5 s and 10 s) and a two-sided binomial p-value against 50%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.order_book import HOW_TO_GET_DEPTH
from ghostcandle.engine.evaluation.significance import binomial_two_sided_p, wilson_interval
from ghostcandle.models.depth_input import with_depth
from ghostcandle.models.imbalance_baseline import book_imbalance
from ghostcandle.models.inputs import normalise_targets, prepare_stacked_inputs, training_batch
from ghostcandle.models.registry import create_model
from ghostcandle.store.depth import MAX_AGE_MS, DepthStore

HORIZONS = (1, 5, 10)
TRAIN_FRACTION = 0.7
#: fixed before the test part was looked at
COB_SETTINGS: dict[str, Any] = {
    "timeframes": ["1s"],
    "windows": {"1s": 30},
    "snapshots": 10,
    "seed": 0,
    "weight_decay": 1e-4,
}
EPOCHS = 30
BATCH = 64


@dataclass(frozen=True)
class Capture:
    """One symbol's contiguous per-second books: times, raw levels ``(n, 20, 4)``, candles."""

    symbol: str
    times: np.ndarray
    books: np.ndarray
    candles: np.ndarray

    @property
    def mid(self) -> np.ndarray:
        """Return the mid per second."""
        out: np.ndarray = (self.books[:, 0, 0] + self.books[:, 0, 2]) / 2.0
        return out


def load_captures(store: DepthStore, symbols: Sequence[str]) -> list[Capture]:
    """Return every capture of ``symbols`` (forward-filled per second, split at long gaps)."""
    out = []
    for symbol in symbols:
        span = store.span(symbol)
        if span is None:
            continue
        grid = list(range(span[0], span[1] + 1, 1000))
        books, ok = store.levels_at(symbol, grid, 1)
        flows = {s.time: s.flow for s in store.read(symbol, span[0], span[1])}
        start = 0
        for i in range(len(grid) + 1):
            if i == len(grid) or not ok[i]:
                if i - start > 1:
                    out.append(_capture(symbol, grid[start:i], books[start:i, 0], flows))
                start = i + 1
    return out


def _capture(symbol: str, times: list[int], books: np.ndarray, flows: dict[int, Any]) -> Capture:
    mid = (books[:, 0, 0] + books[:, 0, 2]) / 2.0
    prev = np.concatenate([mid[:1], mid[:-1]])
    vol = np.array([sum(flows[t][:2]) if flows.get(t) else 0.0 for t in times])
    candles = np.stack([prev, np.maximum(prev, mid), np.minimum(prev, mid), mid, vol], axis=1)
    return Capture(symbol, np.asarray(times, dtype=np.int64), books, candles)


def _decisions(c: Capture, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (train, test) decision indices of capture ``c``, the first one at ``first``."""
    n, hmax = len(c.times), max(HORIZONS)
    idx = np.arange(first, n - hmax)
    split = c.times[0] + TRAIN_FRACTION * (c.times[-1] - c.times[0])
    train = idx[c.times[idx] + 1000 * hmax <= split]
    test = idx[c.times[idx] >= split]
    return train, test


def _inputs(c: Capture, idx: np.ndarray, window: int, snapshots: int) -> tuple[Any, list[Any]]:
    raw = np.stack([c.candles[i - window + 1 : i + 1] for i in idx])
    inputs, scales = prepare_stacked_inputs({"1s": raw})
    books = np.stack([c.books[i - snapshots + 1 : i + 1] for i in idx])
    params = [scales["1s"].params(j) for j in range(len(idx))]
    return with_depth(inputs, books), params


def _train_cob(
    captures: list[Capture], splits: list[tuple[np.ndarray, np.ndarray]], h: int, epochs: int
) -> Any:
    model = create_model("cob", **COB_SETTINGS)
    window, snaps = COB_SETTINGS["windows"]["1s"], COB_SETTINGS["snapshots"]
    parts = []
    for c, (train, _) in zip(captures, splits, strict=True):
        if len(train) == 0:
            continue
        inputs, params = _inputs(c, train, window, snaps)
        move = np.sign(c.mid[train + h] - c.mid[train])
        labels = np.where(move > 0, 1, np.where(move < 0, 2, 0))
        targets = normalise_targets([{"1s": c.candles[i + 1]} for i in train], params, ["1s"])
        parts.append((inputs, targets["1s"], labels))
    if not parts:
        raise DataMissingError("no capture is long enough to train the cob model on: ingest more")
    windows = np.concatenate([p[0].windows["1s"] for p in parts])
    depth = np.concatenate([p[0].extras["depth"] for p in parts])
    targets_all = np.concatenate([p[1] for p in parts])
    labels_all = np.concatenate([p[2] for p in parts])
    rng = np.random.default_rng(0)
    with torch.random.fork_rng(devices=[]):
        for _ in range(epochs):
            order = rng.permutation(len(labels_all))
            for k in range(0, len(order), BATCH):
                j = order[k : k + BATCH]
                inputs = type(parts[0][0])(windows={"1s": windows[j]}, extras={"depth": depth[j]})
                model.train_step(training_batch(inputs, {"1s": targets_all[j]}, labels_all[j]))
    return model


def evaluate_cob(
    store: DepthStore, symbols: Sequence[str] | None = None, *, epochs: int = EPOCHS
) -> dict[str, Any]:
    """Train and score on every capture of ``symbols`` (default: every symbol with levels).

    Return the captures, the settings and one row per method and horizon.
    """
    symbols = list(symbols) if symbols else store.symbols()
    window, snaps = COB_SETTINGS["windows"]["1s"], COB_SETTINGS["snapshots"]
    captures = [
        c for c in load_captures(store, symbols) if len(c.times) > window + 2 * max(HORIZONS)
    ]
    if not captures:
        raise DataMissingError(
            f"no stored order-book capture of {', '.join(symbols) or 'any symbol'} long enough "
            f"to evaluate: {HOW_TO_GET_DEPTH}"
        )
    first = max(window, snaps) - 1 + max(HORIZONS)  # persistence looks back h seconds too
    splits = [_decisions(c, first) for c in captures]
    calls: dict[tuple[str, int], list[np.ndarray]] = {}
    for h in HORIZONS:
        cob = _train_cob(captures, splits, h, epochs)
        for c, (_, test) in zip(captures, splits, strict=True):
            mid = c.mid
            actual = np.sign(mid[test + h] - mid[test])
            inputs, _ = _inputs(c, test, window, snaps)
            probs = cob.predict(inputs).action_probs
            depth = inputs.extras["depth"]
            made = {
                "cob": np.sign(probs[:, 1] - probs[:, 2]),
                "imbalance L1": np.sign(book_imbalance(depth, 1)),
                "imbalance L5": np.sign(book_imbalance(depth, 5)),
                "persistence": np.sign(mid[test] - mid[test - h]),
            }
            for name, called in made.items():
                calls.setdefault((name, h), []).append(np.stack([actual, called]))
    rows = []
    for (name, h), parts in calls.items():
        actual, called = np.concatenate(parts, axis=1)
        moved = actual != 0
        n = int(moved.sum())
        said = moved & (called != 0)
        k, right = int(said.sum()), int((said & (called == actual)).sum())
        ci = wilson_interval(right, k)
        rows.append(
            {
                "method": name,
                "horizon_s": h,
                "moves": n,
                "called": k,
                "coverage": k / n if n else None,
                "accuracy": right / k if k else None,
                "ci95": list(ci) if ci else None,
                "p_vs_half": binomial_two_sided_p(right, k) if k else None,
            }
        )
    rows.sort(key=lambda r: (r["horizon_s"], r["method"]))
    return {
        "captures": [
            {
                "symbol": c.symbol,
                "from": int(c.times[0]),
                "to": int(c.times[-1]),
                "seconds": len(c.times),
                "train": len(s[0]),
                "test": len(s[1]),
            }
            for c, s in zip(captures, splits, strict=True)
        ],
        "settings": {**COB_SETTINGS, "epochs": epochs, "batch": BATCH, "max_age_ms": MAX_AGE_MS},
        "rows": rows,
    }

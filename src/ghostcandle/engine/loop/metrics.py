"""Running figures of a session for the API: rates, and accuracy per model and timeframe."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from ghostcandle.store.predictions import PredictionRecord


class LoopMetrics:
    """Counters updated by the session; rates use the monotonic clock (throughput, not logic)."""

    def __init__(self) -> None:
        self.predictions = 0
        self.resolved = 0
        self.expired = 0
        self.recovered = 0
        self.train_ok = 0
        self.train_failed = 0
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        # (model, timeframe) -> [resolved, action correct, sum of relative close error]
        self._acc: defaultdict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0.0])

    def started(self) -> None:
        """Restart the rate clock."""
        self._t0 = time.monotonic()

    def on_resolved(self, rec: PredictionRecord) -> None:
        """Count one resolved prediction."""
        self.resolved += 1
        acc = self._acc[(rec.model, rec.timeframe)]
        acc[0] += 1
        acc[1] += 1 if rec.action_correct else 0
        acc[2] += rec.price_error or 0.0

    def on_train(self, ok: bool) -> None:
        """Count one training step (called from the trainer's thread)."""
        with self._lock:
            if ok:
                self.train_ok += 1
            else:
                self.train_failed += 1

    def to_json(self) -> dict[str, Any]:
        """Return the figures: predictions/s, training batches/min, accuracy per timeframe."""
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        return {
            "elapsed_s": round(elapsed, 3),
            "predictions": self.predictions,
            "resolved": self.resolved,
            "expired": self.expired,
            "recovered": self.recovered,
            "predictions_per_s": self.predictions / elapsed,
            "train_steps": self.train_ok,
            "train_failed": self.train_failed,
            "training_batches_per_min": 60.0 * (self.train_ok + self.train_failed) / elapsed,
            "accuracy": {
                f"{model}/{tf}": {
                    "resolved": int(n),
                    "action_accuracy": correct / n if n else None,
                    "mean_close_error": err / n if n else None,
                }
                for (model, tf), (n, correct, err) in sorted(self._acc.items())
            },
        }

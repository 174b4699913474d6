"""Reconnect back-off: exponential, fully jittered, never past its cap, reset by data.

The n-th wait after a connection that delivered nothing is drawn uniformly from
``[0, min(cap, base * 2**n)]`` ("full jitter"): many clients dropped at once spread out, and
no wait ever exceeds the cap. A connection that delivered data resets it, so a link that
drops every few seconds costs a fraction of ``base`` each time, not a growing wait.
"""

from __future__ import annotations

import random

#: 2**60 times any base passes any sensible cap: stop doubling there (no float overflow).
_MAX_DOUBLINGS = 60


class Backoff:
    """Draw reconnect waits (see module doc); ``reset()`` after a connection delivered data."""

    def __init__(self, base_s: float, cap_s: float, rng: random.Random | None = None) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError("back-off needs 0 < base <= cap")
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng = rng or random.Random()
        self.failures = 0

    def ceiling(self) -> float:
        """Return the most the next wait can be."""
        doubled: float = self.base_s * 2.0 ** min(self.failures, _MAX_DOUBLINGS)
        return min(self.cap_s, doubled)

    def next_wait(self) -> float:
        """Return the next wait in seconds (within the cap) and grow the ceiling."""
        wait = self._rng.uniform(0.0, self.ceiling())
        self.failures += 1
        return wait

    def reset(self) -> None:
        """Start again from ``base`` (the last connection delivered data)."""
        self.failures = 0

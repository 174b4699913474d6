"""The reconnect back-off: every wait within the cap, doubling ceilings, reset by data."""

from __future__ import annotations

import random

import pytest

from ghostcandle.feeds.backoff import Backoff


def test_no_wait_passes_the_cap_however_many_failures():
    b = Backoff(0.2, 30.0, random.Random(3))
    waits = [b.next_wait() for _ in range(10_000)]
    assert max(waits) <= 30.0
    assert min(waits) >= 0.0
    # full jitter: once at the cap, waits spread over [0, cap] (mean near cap / 2)
    late = waits[100:]
    assert 13.0 < sum(late) / len(late) < 17.0


def test_ceilings_double_from_the_base_and_reset_starts_over():
    b = Backoff(0.5, 4.0, random.Random(1))
    ceilings = []
    for _ in range(6):
        ceilings.append(b.ceiling())
        b.next_wait()
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    assert b.ceiling() == 0.5
    assert b.next_wait() <= 0.5


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match="back-off"):
        Backoff(1.0, 0.5)

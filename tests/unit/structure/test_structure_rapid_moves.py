"""Rapid moves: hand-checked events, and incremental == batch on random series."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import RapidMoveEvent
from ghostcandle.domain.rapid_moves import (
    RapidMoveConfig,
    RapidMoveDetector,
    batch_rapid_moves,
)

MIN = 60_000


def _run(o, h, lo, c, cfg, times=None):
    t = np.arange(len(c), dtype=np.int64) * MIN if times is None else np.asarray(times)
    arrays = [np.asarray(a, dtype=np.float64) for a in (o, h, lo, c)]
    batch = batch_rapid_moves("X", "1m", t, *arrays, t + MIN, cfg)
    det = RapidMoveDetector("X", "1m", cfg)
    inc: list[RapidMoveEvent] = []
    for i in range(len(c)):
        inc.extend(det.update(int(t[i]), *(float(a[i]) for a in arrays), int(t[i]) + MIN))
    return batch, inc


def test_velocity_event_by_hand() -> None:
    c = [100.0, 100.1, 100.0, 101.0, 101.0]
    cfg = RapidMoveConfig(velocity_threshold=0.5, spike_ratio=1e9, baseline_window=2)
    batch, inc = _run(c, c, c, c, cfg)
    assert batch == inc
    assert [(e.kind, e.open_time, e.detected_at, e.direction) for e in batch] == [
        ("velocity", 3 * MIN, 4 * MIN, 1)
    ]
    assert batch[0].value == pytest.approx(1.0)  # +1% in one minute


def test_velocity_over_a_gap_is_per_minute_of_real_time() -> None:
    c = [100.0, 101.0]
    cfg = RapidMoveConfig(velocity_threshold=0.5, spike_ratio=1e9)
    batch, inc = _run(c, c, c, c, cfg, times=[0, 4 * MIN])  # 4 minutes missing
    assert batch == inc == []  # 1% over 4 minutes is 0.25%/min


def test_volatility_spike_against_the_median_of_earlier_candles() -> None:
    n = 12
    c = [100.0] * n
    h = [100.1] * n
    lo = [99.9] * n
    o = [100.0] * n
    h[10], lo[10], o[10], c[10] = 101.0, 99.5, 100.5, 99.6  # range 1.5 vs 0.2 usual
    cfg = RapidMoveConfig(velocity_threshold=5.0, spike_ratio=5.0, baseline_window=5)
    batch, inc = _run(o, h, lo, c, cfg)
    assert batch == inc
    assert [(e.kind, e.open_time, e.direction) for e in batch] == [
        ("volatility_spike", 10 * MIN, -1)
    ]
    assert batch[0].value == pytest.approx(1.5 / 0.2, rel=1e-9)


def test_config_is_validated() -> None:
    with pytest.raises(UserInputError, match="window"):
        RapidMoveConfig(baseline_window=0)
    with pytest.raises(UserInputError, match="positive"):
        RapidMoveConfig(spike_ratio=0)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(-0.02, 0.02, allow_nan=False), min_size=0, max_size=250),
    st.integers(1, 4),
    st.integers(1, 12),
)
def test_incremental_equals_batch(returns: list[float], vwin: int, bwin: int) -> None:
    c = 100 * np.exp(np.cumsum(returns)) if returns else np.empty(0)
    o = np.r_[100.0, c[:-1]][: len(c)]
    h = np.maximum(o, c) * 1.001
    lo = np.minimum(o, c) * 0.999
    cfg = RapidMoveConfig(
        velocity_threshold=0.3, velocity_window=vwin, spike_ratio=2.0, baseline_window=bwin
    )
    batch, inc = _run(o, h, lo, c, cfg)
    assert batch == inc

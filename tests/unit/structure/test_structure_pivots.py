"""Pivots: the documented definition, ties, and no repainting (incremental == batch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.events import Pivot
from ghostcandle.domain.pivots import PivotConfig, PivotDetector, batch_pivots

MIN = 60_000


def _series(highs: list[float], lows: list[float] | None = None) -> tuple[np.ndarray, ...]:
    h = np.asarray(highs, dtype=np.float64)
    lo = np.asarray(lows if lows is not None else [x * 0.9 for x in highs], dtype=np.float64)
    t = np.arange(len(h), dtype=np.int64) * MIN
    return t, h, lo, t + MIN


def _incremental(t, h, lo, ct, config=None) -> list[Pivot]:
    det = PivotDetector("X", "1m", config)
    out: list[Pivot] = []
    for a, b, c, d in zip(t.tolist(), h.tolist(), lo.tolist(), ct.tolist(), strict=True):
        out.extend(det.update(a, b, c, d))
    return out


def _reference(t, h, lo, ct, width: int, levels: int) -> set[tuple[str, int, float, int]]:
    """The definition written out naively, as the README states it."""
    found: set[tuple[str, int, float, int]] = set()
    for kind, prices in (("H", h), ("L", lo)):
        seq = [(int(a), float(p), int(c)) for a, p, c in zip(t, prices, ct, strict=True)]
        for level in range(1, levels + 1):
            nxt = []
            for i in range(width, len(seq) - width):
                others = [seq[j][1] for j in range(i - width, i + width + 1) if j != i]
                p = seq[i][1]
                if (kind == "H" and all(p > o for o in others)) or (
                    kind == "L" and all(p < o for o in others)
                ):
                    confirmed = seq[i + width][2]
                    found.add((f"L{level}{kind}", seq[i][0], p, confirmed))
                    nxt.append((seq[i][0], p, confirmed))
            seq = nxt
    return found


def test_level_one_by_hand_with_ties() -> None:
    #        0  1  2  3  4  5  6  7  8  9 10
    highs = [1, 2, 5, 3, 2, 4, 6, 6, 3, 2, 1]
    t, h, lo, ct = _series(highs)
    pivots = [p for p in batch_pivots("X", "1m", t, h, lo, ct) if p.pivot_type == "L1H"]
    # candle 2 (5 > 1, 2, 3, 2) is a swing high, confirmed by candle 4's close;
    # candles 6 and 7 tie at 6: neither is a pivot
    assert [(p.pivot_time, p.price, p.confirmed_at) for p in pivots] == [(2 * MIN, 5.0, 5 * MIN)]
    assert pivots[0].strength == pytest.approx((5 - 3) / 5)


def test_level_two_is_a_swing_among_level_one_pivots() -> None:
    # level-1 highs at candles 2, 6, 10, 14, 18 with prices 5, 7, 9, 6, 4 -> L2H at candle 10
    highs = [1.0] * 21
    for i, p in zip((2, 6, 10, 14, 18), (5, 7, 9, 6, 4), strict=True):
        highs[i] = p
    t, h, lo, ct = _series(highs, [0.0] * 21)
    pivots = batch_pivots("X", "1m", t, h, lo, ct)
    l2 = [p for p in pivots if p.pivot_type == "L2H"]
    assert [(p.pivot_time, p.price) for p in l2] == [(10 * MIN, 9.0)]
    # confirmed when the 2nd later level-1 high (candle 18) is confirmed by candle 20
    assert l2[0].confirmed_at == 21 * MIN
    assert l2[0].strength == pytest.approx((9 - 7) / 9)
    assert not [p for p in pivots if p.level >= 3]


def test_config_is_validated() -> None:
    with pytest.raises(UserInputError, match="width"):
        PivotConfig(width=0)
    with pytest.raises(UserInputError, match="levels"):
        PivotConfig(levels=6)


prices = st.lists(st.integers(min_value=3, max_value=9), min_size=0, max_size=300)


@settings(max_examples=150, deadline=None)
@given(prices, st.integers(1, 3), st.data())
def test_incremental_equals_batch_and_the_definition(
    highs: list[int], width: int, data: st.DataObject
) -> None:
    # few distinct values: ties everywhere (adversarial)
    spreads = data.draw(st.lists(st.integers(0, 2), min_size=len(highs), max_size=len(highs)))
    lows = [x - s for x, s in zip(highs, spreads, strict=True)]
    t, h, lo, ct = _series([float(x) for x in highs], lows)
    cfg = PivotConfig(width=width)
    batch = batch_pivots("X", "1m", t, h, lo, ct, cfg)
    assert _incremental(t, h, lo, ct, cfg) == batch
    got = {(p.pivot_type, p.pivot_time, p.price, p.confirmed_at) for p in batch}
    assert got == _reference(t, h, lo, ct, width, 5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(1, 2, allow_nan=False), min_size=1, max_size=400), st.data())
def test_no_repainting_a_prefix_sees_exactly_what_was_confirmed(
    highs: list[float], data: st.DataObject
) -> None:
    t, h, lo, ct = _series(highs)
    full = batch_pivots("X", "1m", t, h, lo, ct)
    cut = data.draw(st.integers(1, len(highs)))
    part = batch_pivots("X", "1m", t[:cut], h[:cut], lo[:cut], ct[:cut])
    assert part == [p for p in full if p.confirmed_at <= ct[cut - 1]]


def test_real_data_incremental_equals_batch_at_every_level(eth_1m_2024: Path) -> None:
    df = pd.read_csv(eth_1m_2024)
    t = df["open_time"].to_numpy(np.int64)
    h, lo = df["high"].to_numpy(), df["low"].to_numpy()
    batch = batch_pivots("X", "1m", t, h, lo, t + MIN)
    assert _incremental(t, h, lo, t + MIN) == batch
    levels = {p.level for p in batch}
    assert levels == {1, 2, 3, 4, 5}
    assert all(p.confirmed_at > p.pivot_time and p.strength > 0 for p in batch)

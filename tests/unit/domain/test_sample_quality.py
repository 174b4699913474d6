"""Sample quality: completeness on gappy and rolled-up windows, each flag, the exclusion rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghostcandle.domain.candle_rows import SeriesRows, WindowRows, combine_hashes, rows_hash
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.frames import frame_hash
from ghostcandle.domain.sample_quality import QualityRules, assess
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.domain.window import Window, WindowSpec
from ghostcandle.domain.window_checks import SampleFlag, check_windows

T0 = 1_722_038_400_000  # a midnight: aligned to every timeframe
M = 60_000
H = 3_600_000


def _rows(
    spec: WindowSpec,
    *,
    drop: tuple[int, ...] = (),
    incomplete: tuple[int, ...] = (),
    provenance: str = "file",
) -> WindowRows:
    """Return the spec's candles (clean OHLCV) without ``drop``, ``incomplete`` flagged."""
    t = spec.open_times()
    keep = np.array([i not in drop for i in range(len(t))])
    n = len(t)
    close = 100.0 + np.arange(n)
    values = np.column_stack([close - 0.5, close + 1.0, close - 1.0, close, np.ones(n)])
    complete = np.array([i not in incomplete for i in range(n)])
    prov = np.array([provenance] * n, dtype=object)
    return WindowRows(spec, t[keep], values[keep], complete[keep], prov[keep])


def _spec(tf: str, length: int, end_index: int | None = None) -> WindowSpec:
    d = duration_ms(tf)
    end = T0 + ((length - 1) if end_index is None else end_index) * d
    return WindowSpec(tf, end, length)


def test_completeness_of_a_gappy_window_is_the_share_of_candles_present() -> None:
    spec = _spec("1m", 10)
    q = assess([_rows(spec, drop=(3, 4))], spec.known_at)
    assert q.completeness == pytest.approx(8 / 10)
    assert dict(q.per_timeframe) == {"1m": pytest.approx(0.8)}
    assert QualityRules().exclusion(q) is None  # 0.8 is the floor itself

    spec = _spec("1m", 12)
    q = assess([_rows(spec, drop=(0, 5, 6))], spec.known_at)
    assert q.completeness == pytest.approx(9 / 12)
    assert QualityRules().exclusion(q) == "incomplete: completeness 0.75 < 0.80 (1m 0.75)"


def test_an_incomplete_rollup_counts_as_missing_and_the_weakest_window_rules() -> None:
    minutes, hours = _spec("1m", 60), _spec("1h", 6)
    decision = max(minutes.known_at, hours.known_at)
    q = assess([_rows(minutes), _rows(hours, incomplete=(2,), provenance="rollup")], decision)
    assert q.per_timeframe == {"1m": 1.0, "1h": pytest.approx(5 / 6)}
    assert q.completeness == pytest.approx(5 / 6)  # the lowest window's
    assert q.provenance == {"file": 60, "rollup": 6}  # an incomplete candle is still stored
    # six hours are fewer than the warm-up, and hour 2 is among the last five
    assert q.flags == SampleFlag.NO_WARMUP | SampleFlag.RECENT_GAP
    assert assess([_rows(hours, incomplete=(0,))], hours.known_at).flags == SampleFlag.NO_WARMUP


def _flags(rows: WindowRows, decision: int | None = None, **rules: int) -> SampleFlag:
    at = rows.spec.known_at if decision is None else decision
    return assess([rows], at, QualityRules(**rules)).flags  # type: ignore[arg-type]


def test_a_clean_window_raises_no_flag() -> None:
    assert _flags(_rows(_spec("1m", 60))) == SampleFlag(0)


def test_each_flag_is_raised_by_its_crafted_window() -> None:
    spec = _spec("1m", 60)
    clean = _rows(spec)

    nan = clean.values.copy()
    nan[7, 3] = np.nan
    assert _flags(WindowRows(spec, clean.open_time, nan, clean.complete, clean.provenance)) == (
        SampleFlag.NON_FINITE
    )

    bad = clean.values.copy()
    bad[7, 2] = bad[7, 3] + 0.5  # a low above the close
    assert _flags(WindowRows(spec, clean.open_time, bad, clean.complete, clean.provenance)) == (
        SampleFlag.BAD_OHLC
    )
    negative = clean.values.copy()
    negative[9, 4] = -1.0
    got = WindowRows(spec, clean.open_time, negative, clean.complete, clean.provenance)
    assert _flags(got) == SampleFlag.BAD_OHLC

    swapped = clean.open_time.copy()
    swapped[[10, 11]] = swapped[[11, 10]]
    got = WindowRows(spec, swapped, clean.values, clean.complete, clean.provenance)
    assert _flags(got) == SampleFlag.UNORDERED
    off_grid = clean.open_time.copy()
    off_grid[10] += 1
    got = WindowRows(spec, off_grid, clean.values, clean.complete, clean.provenance)
    assert SampleFlag.UNORDERED in _flags(got)

    assert _flags(clean, decision=spec.known_at - 1) == SampleFlag.NOT_CLOSED
    assert _flags(_rows(_spec("1m", 10))) == SampleFlag.NO_WARMUP
    assert _flags(_rows(_spec("1m", 10)), warmup=10) == SampleFlag(0)
    assert _flags(_rows(spec, drop=(59,))) == SampleFlag.RECENT_GAP
    assert _flags(_rows(spec, incomplete=(56,))) == SampleFlag.RECENT_GAP
    assert _flags(_rows(spec, drop=(54,))) == SampleFlag(0)  # older than the last 5
    assert _flags(_rows(spec, drop=(58,)), recent=1) == SampleFlag(0)


def test_a_window_reaching_past_the_decision_is_not_closed_even_where_a_candle_is_missing() -> None:
    spec = _spec("1h", 60)
    rows = _rows(spec, drop=(59,))  # the last hour is not stored, but would close too late
    assert SampleFlag.NOT_CLOSED in _flags(rows, decision=spec.known_at - H)


def test_hard_flags_always_exclude_soft_ones_only_when_refused() -> None:
    spec = _spec("1m", 60)
    late = assess([_rows(spec)], spec.known_at - M)
    assert QualityRules().exclusion(late) == "invalid: not_closed"
    gap = assess([_rows(spec, drop=(59,))], spec.known_at)
    assert QualityRules().exclusion(gap) is None
    refused = QualityRules(reject=SampleFlag.RECENT_GAP).exclusion(gap)
    assert refused == "invalid: recent_gap"


def test_rules_refuse_settings_out_of_range() -> None:
    with pytest.raises(UserInputError, match=r"min completeness 1\.5"):
        QualityRules(min_completeness=1.5)
    with pytest.raises(UserInputError, match="must be >= 0"):
        QualityRules(recent=-1)


def test_the_rows_hash_of_a_whole_window_is_its_frame_hash() -> None:
    a, b = _rows(_spec("1m", 30)), _rows(_spec("1h", 5))
    windows = [Window("ETH/USDT", w.spec, w.open_time, w.values) for w in (a, b)]
    assert rows_hash("ETH/USDT", [a, b]) == frame_hash(windows)
    assert combine_hashes(w.content_hash() for w in windows) == frame_hash(windows)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.booleans(), min_size=40, max_size=120),
    st.lists(st.booleans(), min_size=40, max_size=120),
    st.lists(st.tuples(st.integers(0, 130), st.integers(1, 40)), min_size=1, max_size=12),
    st.integers(0, 8),
)
def test_checking_many_windows_at_once_equals_checking_each_alone(
    stored: list[bool], complete: list[bool], windows: list[tuple[int, int]], recent: int
) -> None:
    """The batch path (prefix sums over a series) and the single path agree on every window."""
    n = len(stored)
    whole = _rows(_spec("1m", n))
    keep = np.array(stored)
    done = np.resize(np.array(complete), n)
    series = SeriesRows(
        whole.open_time[keep], whole.values[keep], done[keep], whole.provenance[keep]
    )
    specs = [WindowSpec("1m", T0 + end * M, length) for end, length in windows]
    # some decided at the window's close, some later, some too early (not closed)
    decisions = np.array([s.known_at + (0, M, -M)[k % 3] for k, s in enumerate(specs)])
    batch = check_windows(
        series,
        "1m",
        np.array([s.start_open_time for s in specs]),
        np.array([s.end_open_time for s in specs]),
        decisions,
        warmup=20,
        recent=recent,
    )
    rules = QualityRules(warmup=20, recent=recent)
    for k, spec in enumerate(specs):
        alone = assess([series.rows(spec)], int(decisions[k]), rules)
        assert alone.flags == batch.flags[k]
        assert alone.completeness == pytest.approx(batch.completeness[k])
        assert dict(alone.provenance) == {p: int(c[k]) for p, c in batch.provenance.items() if c[k]}

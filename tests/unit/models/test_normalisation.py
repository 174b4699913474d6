"""Per-window normalisation: exact round trips, parameters from the window only, clear errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.normalisation import (
    denormalise,
    denormalise_row,
    frame_norm_params,
    norm_params,
    normalise,
    param_keys,
)
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec
from ghostcandle.models.inputs import prepare_inputs

COLS = ["open", "high", "low", "close", "volume"]


@st.composite
def windows(draw: st.DrawFn) -> np.ndarray:
    """A valid OHLCV window whose prices stay within a factor of two of its last close."""
    n = draw(st.integers(2, 40))
    ref = draw(st.floats(1e-4, 1e6))
    price = st.floats(ref * 0.5, ref * 2.0)
    rows = []
    for _ in range(n):
        o, c, a, b = (draw(price) for _ in range(4))
        volume = draw(st.one_of(st.just(0.0), st.floats(1e-8, 1e9)))  # real volumes
        rows.append([o, max(o, c, a), min(o, c, b), c, volume])
    rows[-1][3] = ref
    rows[-1][1] = max(rows[-1][1], ref)
    rows[-1][2] = min(rows[-1][2], ref)
    return np.array(rows)


@settings(max_examples=150, deadline=None)
@given(windows())
def test_round_trip_is_bit_exact(w: np.ndarray) -> None:
    p = norm_params("1m", w)
    back = denormalise("1m", normalise("1m", w, p), p)
    assert np.array_equal(back, w)


@settings(max_examples=100, deadline=None)
@given(windows())
def test_scales_are_powers_of_two_near_range_and_volume(w: np.ndarray) -> None:
    p = norm_params("1h", w)
    ref, scale, vscale = (p[k] for k in param_keys("1h"))
    assert ref == w[-1, 3]
    for s in (scale, vscale):
        assert math.log2(s) == round(math.log2(s))
    mean_range = max(float(np.mean(w[:, 1] - w[:, 2])), ref * 2.0**-20)
    assert mean_range / math.sqrt(2) <= scale <= mean_range * math.sqrt(2)
    mean_vol = float(np.mean(w[:, 4]))
    if mean_vol > 0:
        assert mean_vol / math.sqrt(2) <= vscale <= mean_vol * math.sqrt(2)
    else:
        assert vscale == 1.0


def test_params_survive_the_frame_reference_json_exactly() -> None:
    df = synthetic_candles(50, "1m", start_ms=0, seed=3)
    w = df[COLS].to_numpy()
    p = frame_norm_params({"1m": w})
    ref = FrameRef("f", "cnn", "v", "ETH/USDT", 3_000_000, (WindowSpec("1m", 2_940_000, 50),), p)
    back = FrameRef.from_json(json.loads(json.dumps(ref.to_json())))
    assert dict(back.norm_params) == p
    pred = np.array([0.3, 1.7, -0.9, 0.25, 1.1])
    assert np.array_equal(denormalise("1m", pred, back.norm_params), denormalise("1m", pred, p))


def test_inputs_read_only_their_window_not_older_or_later_candles() -> None:
    df = synthetic_candles(120, "1m", start_ms=0, seed=5)
    v = df[COLS].to_numpy()
    changed = v.copy()
    changed[:60] *= 1.5  # candles older than the 30-candle window
    (a, [pa]) = prepare_inputs([{"1m": v[:90]}], {"1m": 30})
    (b, [pb]) = prepare_inputs([{"1m": changed[:90]}], {"1m": 30})
    assert pa == pb
    assert np.array_equal(a.windows["1m"], b.windows["1m"])
    # the window ends at the last candle given: a later candle is never read
    assert pa["1m.price_ref"] == v[89, 3]


@pytest.mark.parametrize(
    ("window", "fragment"),
    [
        (np.zeros((0, 5)), r"non-empty \(length, 5\)"),
        (np.ones((3, 4)), r"non-empty \(length, 5\)"),
        (np.array([[1.0, 1.0, 1.0, np.nan, 1.0]]), "NaN/inf"),
        (np.array([[1.0, 1.0, 1.0, 0.0, 1.0]]), "must be positive"),
    ],
)
def test_bad_windows_are_refused_in_one_line(window: np.ndarray, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment) as err:
        norm_params("1m", window)
    assert "\n" not in str(err.value)


def test_missing_parameters_are_named() -> None:
    with pytest.raises(ValueError, match=r"1h\.price_ref"):
        denormalise("1h", np.zeros(5), {"1m.price_ref": 1.0})


def test_flat_window_gets_a_finite_scale() -> None:
    w = np.tile([100.0, 100.0, 100.0, 100.0, 0.0], (10, 1))
    p = norm_params("1m", w)
    n = normalise("1m", w, p)
    assert np.isfinite(n).all()
    assert np.array_equal(denormalise("1m", n, p), w)


def test_one_row_turned_back_as_floats_has_denormalise_s_bits() -> None:
    rng = np.random.default_rng(11)
    for _ in range(2000):
        params = {
            "1m.price_ref": float(10.0 ** rng.uniform(-3, 6)),
            "1m.price_scale": float(2.0 ** rng.integers(-30, 20)),
            "1m.volume_scale": float(2.0 ** rng.integers(-10, 30)),
        }
        row = rng.normal(0, 10.0 ** rng.uniform(-3, 2), 5).astype(np.float32)  # a net's output
        want = denormalise("1m", row, params)
        got = denormalise_row("1m", row.tolist(), params)
        assert all(type(x) is float for x in got)
        assert np.array_equal(np.array(got).view(np.int64), want.view(np.int64))
    with pytest.raises(ValueError, match=r"lack 1m\.volume_scale"):
        denormalise_row("1m", [0.0] * 5, {"1m.price_ref": 1.0, "1m.price_scale": 1.0})

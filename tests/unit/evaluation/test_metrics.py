"""MAE and skill on shared targets, the strongest baseline, coverage and the minimum sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ghostcandle.engine.evaluation.metrics import (
    FIELDS,
    TargetGrid,
    compare,
    coverage,
    directional,
    strongest_baseline,
    target_grid,
)
from ghostcandle.engine.evaluation.significance import diebold_mariano

from .conftest import ledger, market, persistence

CLOSE = FIELDS.index("close")


def _by_model(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {str(m): g for m, g in df.groupby("model")}


def _shifted(candles: np.ndarray, by: float, seed: int) -> np.ndarray:
    """Predictions off the actual candle by ``by`` times a random sign, every field."""
    actual = candles[1:]
    sign = np.where(np.random.default_rng(seed).uniform(size=actual.shape) < 0.5, -1.0, 1.0)
    out: np.ndarray = actual + by * sign
    return out


def test_strongest_baseline_is_the_lowest_mae_on_the_shared_targets() -> None:
    candles = market(300, seed=1)
    keep_b = np.arange(300) >= 150  # "b" predicted only the second half
    df = pd.concat(
        [
            ledger("cnn", candles, _shifted(candles, 0.5, 0)),
            ledger("a", candles, _shifted(candles, 0.3, 1)),
            ledger("b", candles, _shifted(candles, 0.2, 2), keep=keep_b),
            ledger("c", candles, _shifted(candles, 0.3, 3)),
        ]
    )
    grid = target_grid(_by_model(df))
    assert strongest_baseline(grid, "cnn", ["a", "b", "c"], CLOSE) == "b"
    # a and c tie: the first in the order given wins (the registry's order in a report)
    assert strongest_baseline(grid, "cnn", ["c", "a"], CLOSE) == "c"
    assert strongest_baseline(grid, "cnn", ["a", "c"], CLOSE) == "a"
    out = compare(grid, "cnn", "b", CLOSE)
    assert out["n"] == 150  # the targets both predicted
    assert out["mae_model"] == pytest.approx(0.5)
    assert out["mae_baseline"] == pytest.approx(0.2)
    assert out["skill"] == pytest.approx(2.5)
    assert out["dm"]["p_value"] == 0.0  # |error| 0.5 vs 0.2 at every target


def test_a_baseline_sharing_no_target_is_passed_over() -> None:
    candles = market(100, seed=2)
    half = np.arange(100) < 50
    df = pd.concat(
        [
            ledger("cnn", candles, _shifted(candles, 0.5, 0), keep=half),
            ledger("a", candles, _shifted(candles, 0.4, 1)),
            ledger("b", candles, _shifted(candles, 0.1, 2), keep=~half),
        ]
    )
    grid = target_grid(_by_model(df))
    assert strongest_baseline(grid, "cnn", ["a", "b"], CLOSE) == "a"
    assert strongest_baseline(grid, "cnn", [], CLOSE) is None


def test_targets_align_across_symbols_and_models_in_any_row_order() -> None:
    eth, btc = market(80, seed=3), market(80, seed=4, start=30_000.0)
    rows = pd.concat(
        [
            ledger("cnn", eth, _shifted(eth, 0.5, 0)),
            ledger("cnn", btc, _shifted(btc, 2.0, 1), symbol="BTC/USDT"),
            ledger("persistence", eth, persistence(eth)),
            ledger("persistence", btc, persistence(btc), symbol="BTC/USDT"),
        ]
    ).sample(frac=1.0, random_state=0)
    grid = target_grid(_by_model(rows))
    out = compare(grid, "cnn", "persistence", CLOSE)
    assert out["n"] == 160
    both = np.concatenate([np.abs(eth[:-1, 3] - eth[1:, 3]), np.abs(btc[:-1, 3] - btc[1:, 3])])
    assert out["mae_baseline"] == pytest.approx(both.mean())
    assert out["mae_model"] == pytest.approx((0.5 * 80 + 2.0 * 80) / 160)
    assert out["dm"]["lag"] == 4  # 80 distinct target times: floor(80 ** (1/3))


def test_coverage_counts_actual_highs_and_lows_inside_the_predicted_range() -> None:
    g = pd.DataFrame(
        {
            "pred_high": [10.0, 10.0, 10.0, 10.0],
            "actual_high": [9.0, 10.0, 11.0, 9.5],
            "pred_low": [5.0, 5.0, 5.0, 5.0],
            "actual_low": [5.0, 4.0, 6.0, 6.0],
        }
    )
    out = coverage(g)
    assert out["high"] == 0.75  # 9, 10 (at the predicted high counts), 9.5
    assert out["low"] == 0.75  # 5 (at it), 6, 6
    assert out["both"] == 0.5
    assert out["status"] == "too_few"


def test_directional_gives_interval_and_p_only_from_thirty_targets() -> None:
    def frame(hits: int, n: int) -> pd.DataFrame:
        up = np.r_[np.ones(hits), -np.ones(n - hits)]
        return pd.DataFrame(
            {"ref_close": np.full(n, 100.0), "pred_close": 100.0 + up, "actual_close": 101.0}
        )

    few = directional(frame(20, 29))
    assert few["accuracy"] == pytest.approx(20 / 29)
    assert few["status"] == "too_few"
    assert few["ci95"] is None
    assert few["p_value"] is None
    ok = directional(frame(21, 30))
    assert ok["status"] == "ok"
    assert ok["ci95"][0] < 0.7 < ok["ci95"][1]
    assert 0.0 < ok["p_value"] < 0.05


@pytest.mark.parametrize("hole", [False, True])
def test_a_skill_tests_the_shared_targets_with_their_periods(hole: bool) -> None:
    # two symbols a time: the Diebold–Mariano test sums each period's two targets
    rng = np.random.default_rng(3)
    period = np.repeat(np.arange(60), 2)
    a, b = rng.uniform(0, 2, size=(2, len(period)))
    a[::7] += 1.5  # the model loses more on some periods than others
    if hole:  # the baseline did not predict a few targets: compared on the others
        b[5:9] = np.nan
    grid = TargetGrid(period=period, errors={"m": a[None, :], "p": b[None, :]})
    both = ~np.isnan(b)
    expected = diebold_mariano(a[both], b[both], period[both])
    got = compare(grid, "m", "p", 0)
    assert got["n"] == int(both.sum())
    assert got["mae_model"] == float(np.mean(a[both]))
    assert got["mae_baseline"] == float(np.mean(b[both]))
    assert got["dm"]["statistic"] is not None
    assert got["dm"] == {k: expected[k] for k in got["dm"]}

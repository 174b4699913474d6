"""``evaluate``: every block per model and timeframe, baselines found in the registry, JSON-safe."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ghostcandle.engine.evaluation.report import evaluate
from ghostcandle.models.registry import baseline_names

from .conftest import THRESHOLD, ledger, market, persistence


def _session(n: int, seed: int = 0) -> pd.DataFrame:
    rows = market(n, seed=seed)
    rng = np.random.default_rng(seed)
    learner = rows[1:] + rng.normal(0, 0.05, (n, 5))  # close to the truth
    # further from the truth than persistence at every target, same side
    worse = persistence(rows) + 0.5 * (persistence(rows) - rows[1:])
    probs = rng.dirichlet([1.0, 1.0, 1.0], n)
    return pd.concat(
        [
            ledger("cnn", rows, learner, probs=probs),
            ledger("persistence", rows, persistence(rows)),
            ledger("moving_average", rows, worse),
            ledger("cnn", rows, learner, timeframe="1h"),
        ]
    )


def test_every_block_is_reported_and_json_safe() -> None:
    ev = evaluate(_session(120), threshold=THRESHOLD)
    assert set(ev) == {"cnn", "persistence", "moving_average"}
    assert set(ev["cnn"]) == {"1m", "1h"}
    f = ev["cnn"]["1m"]
    for key in (
        "n", "status", "mae_open", "mae_high", "mae_low", "mae_close", "mae_volume", "skill",
        "skill_ratio", "persistence_mae_close", "skill_n", "directional", "action_accuracy",
        "actions", "action", "calibration", "coverage", "trading",
    ):  # fmt: skip
        assert key in f, key
    assert set(f["skill"]) == {"open", "high", "low", "close", "volume"}
    for field in f["skill"].values():
        for side in ("vs_persistence", "vs_strongest"):
            assert field[side]["dm"]["p_value"] is not None
    assert f["skill"]["close"]["vs_persistence"]["skill"] == f["skill_ratio"]
    assert f["skill"]["close"]["vs_persistence"]["dm"]["p_value"] < 1e-6  # far better
    assert set(f["trading"]) == {"ETH/USDT"}
    json.dumps(ev, allow_nan=False)  # no NaN or infinity anywhere


def test_baselines_are_the_registered_families_that_never_learn() -> None:
    assert {"persistence", "moving_average"} <= set(baseline_names())
    ev = evaluate(_session(120), threshold=THRESHOLD)
    f = ev["cnn"]["1m"]
    # in the registry's order (it breaks ties); not cnn: it learns
    assert f["baselines"] == [b for b in baseline_names() if b in ("persistence", "moving_average")]
    # persistence is the better of the two on the close (the other is 1.5 times as far off)
    assert f["skill"]["close"]["vs_strongest"]["baseline"] == "persistence"
    pers = f["skill"]["close"]["vs_persistence"]
    assert f["skill"]["close"]["vs_strongest"] == pers
    # a baseline measured against itself: skill 1, nothing to test
    own = ev["persistence"]["1m"]["skill"]["close"]["vs_persistence"]
    assert own["skill"] == 1.0
    assert own["dm"]["p_value"] == 1.0
    # only the families named count when the caller says which
    narrow = evaluate(_session(120), threshold=THRESHOLD, baselines=["moving_average"])
    assert narrow["cnn"]["1m"]["skill"]["close"]["vs_strongest"]["baseline"] == "moving_average"


def test_below_thirty_targets_the_figures_say_too_few() -> None:
    ev = evaluate(_session(29), threshold=THRESHOLD)
    f = ev["cnn"]["1m"]
    assert f["status"] == "too_few"
    close = f["skill"]["close"]["vs_persistence"]
    assert close["status"] == "too_few"
    assert close["dm"]["p_value"] is None
    assert close["skill"] is not None  # the point figure is still there
    assert f["directional"]["ci95"] is None
    assert f["directional"]["p_value"] is None
    assert f["action"]["ci95"] is None
    assert f["coverage"]["status"] == "too_few"
    assert f["trading"]["ETH/USDT"]["status"] == "too_few"
    assert evaluate(_session(30), threshold=THRESHOLD)["cnn"]["1m"]["status"] == "ok"


def test_the_threshold_decides_the_labels() -> None:
    df = _session(200)
    wide = evaluate(df, threshold=0.5)["cnn"]["1m"]["action"]
    assert wide["labels"] == {"HOLD": 200, "BUY": 0, "SELL": 0}
    assert wide["always_hold"]["accuracy"] == 1.0
    assert evaluate(df, threshold=THRESHOLD)["cnn"]["1m"]["action"]["labels"]["HOLD"] < 200


def test_only_resolved_rows_count() -> None:
    df = _session(60)
    df.loc[df.index[:5], "status"] = "expired"
    assert evaluate(df)["cnn"]["1m"]["n"] == pytest.approx(55)
    assert evaluate(df.iloc[:0]) == {}

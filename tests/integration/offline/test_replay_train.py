"""``ghostcandle train --replay``: profit-weighted and top-setup epochs, known outcomes only."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

from ghostcandle.cli.main import main
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.engine.offline.dataset import load_dataset
from ghostcandle.engine.offline.replay import ReplayPlan
from ghostcandle.engine.offline.trainer import _run_epoch, split_in_time
from ghostcandle.engine.samples.replay import ReplayMode, ReplaySettings
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for
from ghostcandle.engine.training.trainer import Trainer
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.offline_runs import OfflineRunStore

if TYPE_CHECKING:
    from conftest import OfflineData

SPAN = 6 * HOUR_MS


def _argv(offline: OfflineData, *extra: str) -> list[str]:
    return [
        "train", "--db", str(offline.path), "--model", "cnn", "--symbol", offline.symbol,
        "--timeframes", "1m,1h", "--from", format_time(offline.start),
        "--to", format_time(offline.start + SPAN), "--epochs", "2",
        "--model-config", json.dumps(offline.small["cnn"]), *extra,
    ]  # fmt: skip


def _dataset(offline: OfflineData):  # type: ignore[no-untyped-def]
    with Database(offline.path, read_only=True) as db:
        return load_dataset(
            CandleStore(db), offline.symbol, ["1m", "1h"], {"1m": 30, "1h": 4},
            offline.start, offline.start + SPAN,
        )  # fmt: skip


def test_profitable_replay_fit_from_the_command_line(
    offline: OfflineData, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_argv(offline, "--name", "pw"), "--replay", "profitable", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    replay = out["fit"]["replay"]
    assert replay["mode"] == "profitable"
    assert (replay["alpha"], replay["beta"], replay["horizon"]) == (0.6, 0.4, 15)
    assert replay["as_of"] == out["fit"]["split_time"]  # only outcomes known at the split
    assert 0 < replay["eligible"] < replay["train_candidates"]
    with Database(offline.path, read_only=True) as db:
        (run,) = OfflineRunStore(db).list()
        with db.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM rapid_moves").fetchone()
            stored = cur.execute(
                "SELECT decision_time, profitability, status FROM outcomes ORDER BY decision_time"
            ).df()
    assert run.settings["replay"]["mode"] == "profitable"
    assert row is not None
    assert row[0] == replay["rapid_moves"]  # the moves it detected are stored with the run
    # every trained sample has its outcome, validated from the store after the fit ...
    n = out["fit"]["train_samples"]
    assert out["outcomes"] == {"validated": n, "expired": 0, "pending": 0}
    assert len(stored) == n
    assert (stored["status"] == "validated").all()
    # ... with the very figures the replay weighed them by in memory
    data = _dataset(offline)
    plan = ReplayPlan.build(
        data, data.rows_between(offline.start, offline.start + SPAN), out["fit"]["split_time"],
        ReplaySettings(mode=ReplayMode.PROFITABLE), seed=0,
    )  # fmt: skip
    assert plan is not None
    assert plan.outcomes is not None
    at = np.searchsorted(data.decision_time, stored["decision_time"].to_numpy())
    assert np.allclose(plan.outcomes.outcomes.profitability[at], stored["profitability"])


def test_top_setups_are_capped_and_scored(
    offline: OfflineData, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*_argv(offline), "--replay", "top", "--min-profitability", "0.7", "--max-samples", "10"]
    assert main([*argv, "--json"]) == 0
    replay = json.loads(capsys.readouterr().out)["fit"]["replay"]
    assert replay["eligible"] == 10
    assert replay["mean_profitability"] >= 0.7
    assert replay["profitable_share"] == 1.0


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--replay", "top", "--min-profitability", "1.0"], "none of the"),
        (["--replay", "profitable", "--horizon", "100000"], "none of the"),
        (["--replay", "top", "--min-profitability", "1.5"], "--min-profitability 1.5"),
        (["--replay", "profitable", "--beta", "2"], "--beta 2.0 is not in [0, 1]"),
        (["--replay", "uniform", "--max-samples", "0"], "--max-samples 0"),
        (
            ["--replay", "top", "--min-profitability", "1.0", "--walk-forward", "train=3h,test=1h"],
            "none of the",
        ),
    ],
)
def test_a_replay_with_no_eligible_sample_is_one_line_exit_2(
    offline: OfflineData, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    before = offline.path.stat().st_mtime_ns, offline.path.stat().st_size
    assert main([*_argv(offline), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert says in err
    assert (offline.path.stat().st_mtime_ns, offline.path.stat().st_size) == before
    assert not checkpoint_dir_for(offline.path).exists()


def test_annotations_have_no_outcomes_to_replay(
    offline: OfflineData, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "--db", str(offline.path), "--model", "cnn", "--annotations"]
    assert main([*argv, "--replay", "top"]) == 2
    assert "apply to training on stored candles" in capsys.readouterr().err


def test_the_pool_knows_no_outcome_from_after_the_split(offline: OfflineData) -> None:
    data = _dataset(offline)
    split = split_in_time(data, data.rows_between(offline.start, offline.start + SPAN), 0.2)
    settings = ReplaySettings(mode=ReplayMode.PROFITABLE)
    plan = ReplayPlan.build(data, split.train, split.split_time, settings, seed=0)
    assert plan is not None
    assert plan.pool is not None
    assert plan.outcomes is not None
    eligible = split.train[plan.pool.positions]
    known_at = plan.outcomes.known_at
    assert (known_at[eligible] <= split.split_time).all()
    # every training decision whose outcome closed by the split is in, and only those
    assert set(eligible.tolist()) == set(split.train[known_at[split.train] <= split.split_time])
    # rewriting every candle after the split changes nothing in the pool
    tf = data.target_timeframe
    later = data.open_time[tf] >= split.split_time
    values = data.values[tf].copy()
    values[later, :4] *= np.linspace(0.5, 2.0, int(later.sum()))[:, None]
    shaken = replace(data, values={**data.values, tf: values})
    again = ReplayPlan.build(shaken, split.train, split.split_time, settings, seed=0)
    assert again is not None
    assert again.pool is not None
    assert np.array_equal(again.pool.positions, plan.pool.positions)
    assert np.array_equal(again.pool.priority, plan.pool.priority)


def test_profitable_epochs_favour_profitable_rows_and_carry_weights(
    offline: OfflineData,
) -> None:
    data = _dataset(offline)
    split = split_in_time(data, data.rows_between(offline.start, offline.start + SPAN), 0.2)
    settings = ReplaySettings(mode=ReplayMode.PROFITABLE, alpha=1.0, beta=0.4)
    plan = ReplayPlan.build(data, split.train, split.split_time, settings, seed=1)
    assert plan is not None
    assert plan.pool is not None
    assert plan.outcomes is not None
    rows, weights = plan.epoch(1, 3)
    assert weights is not None
    assert len(rows) == len(weights) == len(plan.pool)
    assert 0 < weights.min() <= weights.max() <= 1.0
    prof = plan.outcomes.outcomes.profitability
    assert prof[rows].mean() > prof[split.train[plan.pool.positions]].mean()
    # the same epoch again draws the same rows (seeded by seed and epoch)
    assert np.array_equal(plan.epoch(1, 3)[0], rows)
    # the last epoch's beta is 1: rarer draws weigh more, exactly inversely to P
    _, w_last = plan.epoch(3, 3)
    assert w_last is not None
    assert w_last.min() < weights.min()


def _trained(data, rows: np.ndarray, weights: np.ndarray | None) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    """Train a fresh small cnn on ``rows`` as a fit's epoch does; return its weights."""
    model = create_model("cnn", seed=0, timeframes=["1m", "1h"], windows={"1m": 30, "1h": 4},
                         channels=8, layers=2, hidden=16)  # fmt: skip
    trainer = Trainer(model, clock=LiveClock()).start()
    try:
        reports = _run_epoch(trainer, data, rows, 16, weights)
    finally:
        trainer.stop(timeout_s=60)
    assert all(r.ok for r, _ in reports)
    return dict(trainer.snapshot.model.state_dict()["weights"])


def test_an_epoch_hands_its_weights_to_every_step(offline: OfflineData) -> None:
    data = _dataset(offline)
    rows = np.random.default_rng(0).permutation(np.arange(64))
    plain = _trained(data, rows, None)
    ones = _trained(data, rows, np.ones(64, np.float32))
    weighted = _trained(data, rows, np.linspace(0.0, 1.0, 64, dtype=np.float32))
    assert all(torch.allclose(plain[k], ones[k], atol=1e-6) for k in plain)
    assert not all(torch.allclose(plain[k], weighted[k], atol=1e-6) for k in plain)

"""Walk-forward on stored candles: folds fixed first, each fold a plain fit and predict.

Real torch training on a real DuckDB file of synthetic candles. A fold of the walk-forward
must be exactly what fitting a fresh model on its train window and predicting its test window
by hand gives, for the model and for every baseline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import GhostcandleError
from ghostcandle.domain.timeframes import HOUR_MS
from ghostcandle.engine.evaluation.report import evaluate
from ghostcandle.engine.offline.dataset import load_dataset
from ghostcandle.engine.offline.ledger import ledger_frame
from ghostcandle.engine.offline.service import OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.trainer import FitSettings, fit, split_in_time
from ghostcandle.engine.offline.walk_forward import parse_walk_forward, plan_folds
from ghostcandle.models.registry import baseline_names, create_model, fit_baseline
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.offline_runs import WALK_FORWARD, OfflineRunStore

if TYPE_CHECKING:
    from conftest import OfflineData

SPEC = "train=12h,test=6h,step=8h"


def test_every_fold_is_a_plain_fit_and_predict_on_fixed_disjoint_windows(
    offline: OfflineData,
) -> None:
    settings = FitSettings(epochs=2, batch_size=128, patience=1)
    req = OfflineRequest(
        model="cnn",
        symbol=offline.symbol,
        timeframes=["1m", "1h"],
        start=offline.start,
        end=offline.end,
        model_config=offline.small["cnn"],
        settings=settings,
    )
    spec = parse_walk_forward(SPEC)
    events: list[tuple[str, Any]] = []
    clock = ReplayClock(offline.end)
    with Database(offline.path) as db:
        result, record = OfflineTrainingService(db, clock).walk_forward(
            req,
            spec,
            on_folds=lambda folds: events.append(("folds", [p.to_json() for p in folds])),
            on_epoch=lambda k, e: events.append(("epoch", k)),
        )
        runs = OfflineRunStore(db).list()
        data = load_dataset(
            CandleStore(db), offline.symbol, ["1m", "1h"], {"1m": 30, "1h": 4},
            offline.start, offline.end,
        )  # fmt: skip

    # the folds were fixed, and reported, before anything was trained
    assert events[0][0] == "folds"
    assert all(kind == "epoch" for kind, _ in events[1:])
    folds = plan_folds(spec, offline.start, offline.end)
    assert [f["fold"] for f in events[0][1]] == [f.index for f in folds]
    assert [f.planned.fold for f in result.folds] == folds
    for f in result.folds:
        p = f.planned
        train_rows = np.concatenate([p.split.train, p.split.val])
        # train (and its validation) and test are disjoint; every test decision follows them
        assert not set(train_rows.tolist()) & set(p.test.tolist())
        assert data.target_close[train_rows].max() <= p.fold.train_end
        assert data.decision_time[p.test].min() >= p.fold.test_start
        assert data.target_close[p.test].max() <= p.fold.test_end
        # validation is the end of the train window, never the test window
        assert data.decision_time[p.split.val].max() < p.fold.test_start

    # fold 2, by hand: a fresh model fitted on its train window, then its test window predicted
    k = 1
    fold = folds[k]
    split = split_in_time(
        data, data.rows_between(fold.train_start, fold.train_end), settings.val_fraction
    )
    model = create_model("cnn", **req.model_settings())
    fitted = fit(model, data, split, settings, clock=clock)
    test = data.rows_between(fold.test_start, fold.test_end)
    history = [data.candles_between(fold.train_start, fold.train_end)]
    by_hand = [ledger_frame(data, test, fitted.model, fold=fold.index)]
    for name in baseline_names():
        b = create_model(name, timeframes=["1m", "1h"], windows={"1m": 30, "1h": 4})
        by_hand.append(
            ledger_frame(data, test, fit_baseline(b, history, data.threshold), fold=fold.index)
        )
    expected = pd.concat(by_hand, ignore_index=True)
    pd.testing.assert_frame_equal(result.folds[k].ledger, expected)
    assert result.folds[k].evaluation == evaluate(expected, threshold=data.threshold)

    # the aggregate pools every fold's test rows; each model and baseline scored on all of them
    pooled = result.ledger()
    assert len(pooled) == sum(len(f.ledger) for f in result.folds)
    agg = result.aggregate
    assert set(agg) == {"cnn", *baseline_names()}
    assert agg["cnn"]["1m"]["n"] == sum(len(f.planned.test) for f in result.folds)
    assert agg["cnn"]["1m"]["skill"]["close"]["vs_persistence"] is not None

    # one record, holding every fold and the aggregate
    assert [r.run_id for r in runs] == [record.run_id]
    assert record.kind == WALK_FORWARD
    assert len(record.summary["folds"]) == len(folds)
    assert record.summary["aggregate"]["test_samples"] == int(agg["cnn"]["1m"]["n"])
    assert record.checkpoint is None


def _never(*_: object) -> None:
    raise AssertionError("nothing may be trained for a refused walk-forward")


def test_folds_too_small_are_refused_before_training(offline: OfflineData) -> None:
    req = OfflineRequest(
        model="cnn",
        symbol=offline.symbol,
        timeframes=["1m", "1h"],
        start=offline.start,
        end=offline.start + 2 * HOUR_MS,
        model_config=offline.small["cnn"],
    )
    with Database(offline.path) as db:
        svc = OfflineTrainingService(db, ReplayClock(offline.end))
        for text, says in (
            ("train=10m,test=5m", "fold 1: 10 decision points are too few"),
            ("train=30d,test=7d", "shorter than one fold"),
        ):
            with pytest.raises(GhostcandleError, match=says):
                svc.walk_forward(req, parse_walk_forward(text), on_epoch=_never)
        assert OfflineRunStore(db).list() == []

"""Backtests that start from the checkpoint of training on annotations (the training panel).

A real transformer is trained on real annotations through the same job the workspace runs;
the backtest started from its checkpoint must predict what that checkpoint, loaded by hand,
predicts on the same frames, and not what fresh weights of the same shape predict.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestService
from ghostcandle.engine.training.checkpoints import CheckpointStore, checkpoint_dir_for
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.models.registry import create_model
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import PredictionLedger, PredictionRecord
from ghostcandle.web.training_job import TrainingJobs

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
#: (entry, exit) minutes after T0 and the direction of the annotated trades
TRADES = ((150, 170, "LONG"), (210, 240, "SHORT"), (300, 320, "LONG"), (360, 400, "SHORT"))


def _train_on_annotations(db: Database, tmp_path: Path, epochs: int = 6) -> dict[str, Any]:
    """Seed 1m candles, annotate trades and train a transformer on them as the panel does."""
    CandleStore(db).write(
        SYMBOL,
        "1m",
        synthetic_candles(600, "1m", start_ms=T0, seed=5),
        provenance=CandleSource.FILE,
    )
    clock = ReplayClock(T0 + 600 * M)
    anns = AnnotationStore(db, CandleStore(db), tmp_path / "cases", clock)
    for entry, exit_, side in TRADES:
        anns.create(SYMBOL, "1m", T0 + entry * M, T0 + exit_ * M, direction=side)
    events: list[dict[str, Any]] = []
    jobs = TrainingJobs(db, anns, clock, events.append)
    jobs.start("transformer", epochs, None)
    jobs.wait(120)
    assert jobs.state["status"] == "completed", jobs.state
    return jobs.state


def _request(**kw: Any) -> BacktestRequest:
    base = BacktestRequest(
        model="transformer",
        symbol=SYMBOL,
        timeframe="1m",
        start=T0 + 200 * M,
        end=T0 + 320 * M,
        broker=BrokerConfig(fee_bps=5.0),
        batched=False,
        start_from="annotations",
    )
    return dataclasses.replace(base, **kw)


def _predictions(db: Database, session_id: str | None) -> list[PredictionRecord]:
    assert session_id is not None
    recs = PredictionLedger(db).recent(session_id, limit=10_000)
    return sorted((r for r in recs if r.model == "transformer"), key=lambda r: r.decision_time)


def test_backtest_from_the_annotation_checkpoint_predicts_with_its_weights(
    db: Database, tmp_path: Path
) -> None:
    _train_on_annotations(db, tmp_path)
    svc = BacktestService(db)
    from_ckpt = svc.run(_request())
    # the checkpoint loaded by hand, through the checkpoint store's checked loader
    found = CheckpointStore(checkpoint_dir_for(db.path), ReplayClock(0)).load_latest(
        "annotations-transformer"
    )
    assert found is not None
    info, state = found
    by_hand = create_model("transformer", **state["config"])
    by_hand.load_state_dict(state)
    assert by_hand.step > 0
    assert from_ckpt.request["checkpoint"]["path"] == info.path
    assert from_ckpt.request["model_config"] == state["config"]

    fresh = svc.run(_request(start_from="fresh", model_config=state["config"]))
    ours, theirs = _predictions(db, from_ckpt.session_id), _predictions(db, fresh.session_id)
    assert len(ours) == len(theirs) > 50
    assert [r.decision_time for r in ours] == [r.decision_time for r in theirs]
    ours_close = np.array([r.pred_close for r in ours])
    assert not np.allclose(ours_close, [r.pred_close for r in theirs])

    # every prediction of the backtest is the hand-loaded model's on the same frame
    frames = FrameStore(db)
    samples = [
        {w.spec.timeframe: w.values for w in frames.get_inference_data(frames.get(r.frame_id))}
        for r in ours
    ]
    inputs, params = prepare_inputs(samples, by_hand.windows)
    forecasts = by_hand.predict(inputs).forecasts(params)
    np.testing.assert_allclose(ours_close, [f.candles["1m"][3] for f in forecasts], rtol=1e-6)
    assert [r.action for r in ours] == [f.action.name for f in forecasts]
    np.testing.assert_allclose(
        [r.confidence for r in ours], [f.confidence for f in forecasts], rtol=1e-6
    )

    # the batched engine starts from the same weights: the same trades as the loop
    batched = svc.run(_request(batched=True))
    assert batched.trades == from_ckpt.trades
    assert batched.signals == from_ckpt.signals


def test_refusals_are_one_line_and_write_nothing(db: Database, tmp_path: Path) -> None:
    svc = BacktestService(db)
    CandleStore(db).write(
        SYMBOL,
        "1m",
        synthetic_candles(600, "1m", start_ms=T0, seed=5),
        provenance=CandleSource.FILE,
    )
    with pytest.raises(DataMissingError, match="no annotation-trained checkpoint of transformer"):
        svc.check(_request())
    with pytest.raises(DataMissingError, match="no annotation-trained checkpoint of persistence"):
        svc.check(_request(model="persistence"))
    with pytest.raises(UserInputError, match="start_from"):
        svc.check(_request(start_from="yesterday"))
    assert not checkpoint_dir_for(db.path).exists() or not any(
        checkpoint_dir_for(db.path).iterdir()
    )
    _train_on_annotations(db, tmp_path, epochs=1)
    other = {"timeframes": ["1m"], "windows": {"1m": 30}}
    with pytest.raises(UserInputError, match="does not match checkpoint annotations-transformer"):
        svc.check(_request(model_config=other))
    err = ""
    try:
        svc.check(_request(model_config=other))
    except UserInputError as exc:
        err = str(exc)
    assert "\n" not in err
    assert "windows" in err


def test_cli_backtests_the_annotation_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bt.duckdb"
    with Database(path) as db:
        state = _train_on_annotations(db, tmp_path, epochs=2)
    argv = ["backtest", "--db", str(path), "--model", "transformer", "--symbol", SYMBOL]
    argv += ["--timeframe", "1m", "--from", str(T0 + 200 * M), "--to", str(T0 + 320 * M)]
    argv += ["--json", "--checkpoint", "annotations"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["request"]["start_from"] == "annotations"
    assert out["request"]["checkpoint"]["path"] == state["checkpoint"]

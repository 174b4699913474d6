"""Replays and backtests started from a named offline checkpoint predict with its weights.

A real transformer is fitted offline and checkpointed under a name; ``replay --checkpoint
NAME`` and ``backtest --checkpoint NAME`` must predict what that checkpoint, loaded by hand,
predicts on the same frames, and not what fresh weights of the same shape predict.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.timeframes import HOUR_MS, format_time
from ghostcandle.engine.offline.service import OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.trainer import FitSettings
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestService
from ghostcandle.engine.training.start_checkpoint import load_named_checkpoint
from ghostcandle.models.base import ModelInputs
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import PredictionLedger

if TYPE_CHECKING:
    from conftest import OfflineData

NAME = "eth-offline"


def _fit(offline: OfflineData) -> dict[str, object]:
    with Database(offline.path) as db:
        out = OfflineTrainingService(db, ReplayClock(offline.end)).train(
            OfflineRequest(
                model="transformer",
                symbol=offline.symbol,
                timeframes=["1m", "1h"],
                start=offline.start,
                end=offline.end - 6 * HOUR_MS,
                model_config=offline.small["transformer"],
                settings=FitSettings(epochs=2, batch_size=128),
                name=NAME,
            )
        )
    return out.to_json()


def test_replay_from_a_named_checkpoint_predicts_with_its_weights(
    offline: OfflineData, capsys: pytest.CaptureFixture[str]
) -> None:
    fitted = _fit(offline)
    a, b = offline.end - 2 * HOUR_MS, offline.end
    argv = ["replay", "--db", str(offline.path), "--symbol", offline.symbol, "--model"]
    argv += ["transformer", "--from", format_time(a), "--to", format_time(b), "--json"]
    assert main([*argv, "--checkpoint", NAME]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "-ckpt-" in summary["session_id"]
    with Database(offline.path) as db:
        start = load_named_checkpoint(db.path, ReplayClock(a), NAME)
        assert start.info.version == fitted["checkpoint_info"]["version"]  # type: ignore[index]
        rows = [
            r
            for r in PredictionLedger(db).recent(summary["session_id"], limit=10_000)
            if r.model == "transformer" and r.timeframe == "1m"
        ]
        assert len(rows) > 50
        assert {r.model_version for r in rows} == {start.info.version}
        frames = FrameStore(db)
        samples = [
            {w.spec.timeframe: w.values for w in frames.get_inference_data(frames.get(r.frame_id))}
            for r in rows
        ]
    loaded = start.model()
    inputs, params = prepare_inputs(samples, loaded.windows)
    by_hand = [f.candles["1m"][3] for f in loaded.predict(inputs).forecasts(params)]
    np.testing.assert_allclose([r.pred_close for r in rows], by_hand, rtol=1e-6)
    fresh = create_model("transformer", **dict(start.config))
    fresh_close = [f.candles["1m"][3] for f in fresh.predict(inputs).forecasts(params)]
    assert not np.allclose(fresh_close, by_hand, rtol=1e-6)

    # settings that differ from the checkpoint's are refused in one line, naming them
    assert main([*argv, "--checkpoint", NAME, "--window", "1m=20", "--timeframes", "1m,1h"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "differs in windows" in err


def test_backtest_from_a_named_checkpoint_trades_its_weights(
    offline: OfflineData, capsys: pytest.CaptureFixture[str]
) -> None:
    _fit(offline)
    a, b = offline.end - 3 * HOUR_MS, offline.end
    with Database(offline.path) as db:
        svc = BacktestService(db)
        req = BacktestRequest(
            model="transformer", symbol=offline.symbol, timeframe="1m", start=a, end=b
        )
        from_ckpt, _ = svc.check(BacktestRequest(**{**req.__dict__, "start_from": NAME}))
        fresh, _ = svc.check(req)
        start = load_named_checkpoint(db.path, ReplayClock(a), NAME)
    loaded = start.model()
    assert from_ckpt.version == loaded.version == start.info.version
    rng = np.random.default_rng(1)
    probe = ModelInputs(
        {tf: rng.normal(size=(16, n, 5)).astype(np.float32) for tf, n in loaded.windows.items()}
    )
    np.testing.assert_array_equal(
        from_ckpt.predict(probe).action_probs, loaded.predict(probe).action_probs
    )
    assert fresh.windows != loaded.windows or not np.allclose(
        fresh.predict(probe).action_probs, loaded.predict(probe).action_probs
    )
    argv = ["backtest", "--db", str(offline.path), "--model", "transformer", "--symbol"]
    argv += [offline.symbol, "--timeframe", "1m", "--from", str(a), "--to", str(b), "--json"]
    assert main([*argv, "--checkpoint", NAME]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["request"]["start_from"] == NAME
    assert out["request"]["checkpoint"]["key"] == NAME
    assert out["request"]["model_config"] == loaded.config()
    assert main([*argv, "--checkpoint", "no-such-name"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no checkpoint named 'no-such-name'" in err

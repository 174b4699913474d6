"""Offline fits on stored candles: later-in-time validation, early stopping, named checkpoints.

Real torch training through the one trainer, on a real DuckDB file of seeded synthetic
candles; every learning family is fitted the same way.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import UserInputError
from ghostcandle.engine.offline.service import OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.trainer import FitSettings
from ghostcandle.engine.training.checkpoints import checkpoint_dir_for
from ghostcandle.engine.training.start_checkpoint import load_named_checkpoint
from ghostcandle.models.registry import create_model
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.offline_runs import OfflineRunStore

if TYPE_CHECKING:
    from conftest import OfflineData


def _request(offline: OfflineData, family: str, **kw: object) -> OfflineRequest:
    base = OfflineRequest(
        model=family,
        symbol=offline.symbol,
        timeframes=["1m", "1h"],
        start=offline.start,
        end=offline.end,
        model_config=offline.small[family],
        settings=FitSettings(epochs=3, batch_size=128, patience=2),
        name=f"fit-{family}",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("family", ["transformer", "cnn"])
def test_a_fit_validates_later_in_time_and_checkpoints_its_best_weights(
    offline: OfflineData, family: str
) -> None:
    clock = ReplayClock(offline.end)
    with Database(offline.path) as db:
        svc = OfflineTrainingService(db, clock)
        req = _request(offline, family)
        prepared = svc.prepare(req)
        data, split = prepared.data, prepared.split
        seen = []
        out = svc.train(req, prepared=prepared, on_epoch=seen.append)

        # validation is the latest share, and every trained target closed before it starts
        n = len(data.rows_between(offline.start, offline.end))
        assert len(split.val) == math.ceil(0.2 * n)
        assert data.target_close[split.train].max() <= split.split_time
        assert split.split_time == data.decision_time[split.val].min()
        assert data.decision_time[split.train].max() < data.decision_time[split.val].min()

        # the kept weights are those of the epoch with the lowest validation loss
        losses = [e.val_loss for e in out.fit.epochs]
        assert seen == list(out.fit.epochs)
        assert out.fit.best_epoch == 1 + int(np.argmin(losses))
        steps_per_epoch = math.ceil(len(split.train) / req.settings.batch_size)
        assert out.fit.model.step == out.fit.best_epoch * steps_per_epoch

        # the named checkpoint loads to exactly those weights, not to fresh ones
        start = load_named_checkpoint(db.path, clock, f"fit-{family}")
        assert start.family == family
        assert start.info.path == out.checkpoint.path
        assert Path(out.checkpoint.path).parent == checkpoint_dir_for(db.path) / f"fit-{family}"
        loaded = start.model()
        inputs, _ = data.inputs(split.val[:64])
        np.testing.assert_array_equal(
            loaded.predict(inputs).candles["1m"], out.fit.model.predict(inputs).candles["1m"]
        )
        fresh = create_model(family, **req.model_settings())
        assert not np.allclose(
            fresh.predict(inputs).candles["1m"], loaded.predict(inputs).candles["1m"]
        )

        # the run is recorded, and its training frames are stored by reference
        (run,) = OfflineRunStore(db).list()
        assert run.name == f"fit-{family}"
        assert run.checkpoint == out.checkpoint.name
        assert list(run.val_losses) == losses
        assert run.best_epoch == out.fit.best_epoch
        assert run.settings["seed"] == 0
        assert run.model_config == loaded.config()
        frames = FrameStore(db)
        assert frames.count() == len(split.train)
        ref = data.frame(int(split.train[7]), f"offline/{family}")
        stored = frames.get(ref.frame_id)
        assert stored.input_hash == ref.input_hash
        assert frames.get_inference_data(stored)[0].values.shape == (30, 5)


def test_training_stops_early_once_validation_stops_improving(offline: OfflineData) -> None:
    # a learning rate far below float32 resolution leaves the weights as they are: the
    # validation loss cannot improve after the first epoch
    tiny = {**offline.small["transformer"], "learning_rate": 1e-12}
    req = _request(
        offline,
        "transformer",
        model_config=tiny,
        settings=FitSettings(epochs=12, batch_size=256, patience=2),
    )
    with Database(offline.path) as db:
        out = OfflineTrainingService(db, ReplayClock(offline.end)).train(req)
    fit = out.fit
    assert fit.stopped_early
    assert len(fit.epochs) == fit.best_epoch + 2 < 12
    best = fit.epochs[fit.best_epoch - 1].val_loss
    assert all(e.val_loss >= best for e in fit.epochs[fit.best_epoch :])


def test_a_checkpoint_of_another_config_is_refused_naming_the_difference(
    offline: OfflineData,
) -> None:
    clock = ReplayClock(offline.end)
    with Database(offline.path) as db:
        OfflineTrainingService(db, clock).train(
            _request(offline, "cnn", settings=FitSettings(epochs=1))
        )
        other = {**offline.small["cnn"], "timeframes": ["1m", "1h"], "windows": {"1m": 20, "1h": 4}}
        with pytest.raises(UserInputError, match="differs in windows") as info:
            load_named_checkpoint(db.path, clock, "fit-cnn", "cnn", other)
        assert "\n" not in str(info.value)
        with pytest.raises(UserInputError, match="holds a cnn model, not transformer"):
            load_named_checkpoint(db.path, clock, "fit-cnn", "transformer")
        with pytest.raises(UserInputError, match="no checkpoint named 'nope'"):
            load_named_checkpoint(db.path, clock, "nope")
        # the same name again is refused before any training, unless it is to be replaced
        with pytest.raises(UserInputError, match="--replace"):
            OfflineTrainingService(db, clock).prepare(_request(offline, "cnn"))
        assert len(OfflineRunStore(db).list()) == 1

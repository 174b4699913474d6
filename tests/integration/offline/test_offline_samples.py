"""An offline fit records the decisions it trained on as ``candle`` training samples."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.samples import SampleSource, SampleStatus
from ghostcandle.engine.offline.service import OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.trainer import FitSettings
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.store.db import Database

if TYPE_CHECKING:
    from conftest import OfflineData


def test_a_fit_records_its_training_decisions_as_samples(offline: OfflineData) -> None:
    clock = ReplayClock(offline.end)
    with Database(offline.path) as db:
        svc = OfflineTrainingService(db, clock)
        req = OfflineRequest(
            model="cnn",
            symbol=offline.symbol,
            timeframes=["1m", "1h"],
            start=offline.start,
            end=offline.end,
            model_config=offline.small["cnn"],
            settings=FitSettings(epochs=1, batch_size=256, patience=1),
            name="fit-samples",
        )
        prepared = svc.prepare(req)
        svc.train(req, prepared=prepared)
        data, train = prepared.data, prepared.split.train
        registry = SampleRegistry(db, clock)
        ids = registry.store.ids(source=SampleSource.CANDLE)
        assert len(ids) == len(train)
        samples = registry.store.get(ids)
        assert {s.status for s in samples} == {SampleStatus.OK}
        by_time = {s.frame.decision_time: s for s in samples}
        times = data.decision_time[train]
        assert sorted(by_time) == sorted(times.tolist())
        labels = [by_time[int(t)].label for t in times]
        np.testing.assert_array_equal(labels, data.labels[train])
        first = by_time[int(times[0])]
        assert first.frame.frame_id == data.frame(int(train[0]), "offline/cnn").frame_id
        assert first.quality.completeness == 1.0
        # 30 stored 1m candles and 4 rolled-up hours in every frame
        assert first.quality.provenance == {"file": 30, "rollup": 4}
        checked = registry.read(ids[:64])
        assert len(checked.trainable) == 64

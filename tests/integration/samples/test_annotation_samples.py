"""Annotations are training samples: recorded with the trade, replaced with it, verified on use."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.samples import SampleSource, SampleStatus
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.training.annotation_training import train_on_annotations
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_038_400_000


@pytest.fixture
def annotations(db: Database, tmp_path: Path) -> AnnotationStore:
    candles = CandleStore(db)
    df = synthetic_candles(400, "1m", start_ms=T0, seed=4)
    candles.write(SYMBOL, "1m", df, provenance=CandleSource.FILE)
    return AnnotationStore(db, candles, tmp_path / "cases", ReplayClock(T0 + 400 * M))


def _rows(db: Database) -> list[tuple[str, str, int, str]]:
    got = db.con.execute(
        "SELECT origin, source, label, status FROM training_samples ORDER BY origin"
    ).fetchall()
    return [(str(o), str(s), int(lab), str(st)) for o, s, lab, st in got]


def test_an_annotation_is_recorded_moved_and_deleted_with_its_sample(
    db: Database, annotations: AnnotationStore
) -> None:
    ann = annotations.create(SYMBOL, "1m", T0 + 150 * M, T0 + 170 * M, direction="LONG")
    origin = f"annotation:{ann.annotation_id}"
    assert _rows(db) == [(origin, "annotation", int(Action.BUY), "ok")]
    sample = annotations.samples.get(annotations.samples.ids())[0]
    assert sample.frame.frame_id == ann.frame.frame_id
    # the stored 1m candles, and the closed hours before the entry rolled up from them
    hours = (150 + 1) * M // (60 * M)
    assert sample.quality.provenance == {"file": 100, "rollup": hours}

    annotations.update(ann.annotation_id, direction="SHORT")
    assert _rows(db) == [(origin, "annotation", int(Action.SELL), "ok")]
    moved = annotations.update(ann.annotation_id, entry_time=T0 + 200 * M, exit_time=T0 + 220 * M)
    [now] = annotations.samples.get(annotations.samples.ids())
    assert now.frame.frame_id == moved.frame.frame_id != ann.frame.frame_id
    annotations.delete(ann.annotation_id)
    assert _rows(db) == []


def test_training_on_annotations_leaves_a_tampered_one_out_and_goes_on(
    db: Database, annotations: AnnotationStore
) -> None:
    a = annotations.create(SYMBOL, "1m", T0 + 150 * M, T0 + 170 * M, direction="LONG")
    b = annotations.create(SYMBOL, "1m", T0 + 300 * M, T0 + 320 * M, direction="SHORT")
    # a candle inside a's frame (the 100 minutes before its entry closes) only
    db.con.execute(
        "UPDATE candles SET high = high + 5 WHERE timeframe = '1m' AND open_time = ?",
        [T0 + 120 * M],
    )
    clock = ReplayClock(T0 + 400 * M)
    result = train_on_annotations(db, annotations, "cnn", 2, [a, b], clock=clock)
    assert result.samples == 1
    assert result.quarantined == 1
    assert len(result.epochs) == 2
    assert result.to_json()["quarantined"] == 1
    status = dict((o, st) for o, _, _, st in _rows(db))
    assert status[f"annotation:{a.annotation_id}"] == SampleStatus.QUARANTINED
    assert status[f"annotation:{b.annotation_id}"] == SampleStatus.OK

    with pytest.raises(DataMissingError, match=r"none of the 1 annotation\(s\) can be trained"):
        train_on_annotations(db, annotations, "cnn", 1, [a], clock=clock)


def test_an_annotation_marked_before_samples_existed_gets_its_sample_when_trained(
    db: Database, annotations: AnnotationStore
) -> None:
    ann = annotations.create(SYMBOL, "1m", T0 + 150 * M, T0 + 170 * M, direction="LONG")
    db.con.execute("DELETE FROM training_samples")  # as in a database from before
    result = train_on_annotations(db, annotations, "cnn", 1, [ann], clock=ReplayClock(T0))
    assert result.samples == 1
    assert [r[1] for r in _rows(db)] == [SampleSource.ANNOTATION]

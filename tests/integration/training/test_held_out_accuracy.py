"""Issue 14.3: training on annotations scores the newest fifth, held out, beside the trained."""

from __future__ import annotations

from pathlib import Path

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.training.annotation_training import split_by_time, train_on_annotations
from ghostcandle.store.annotations import AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_038_400_000
#: entry minute, exit minute, direction; marked out of time order on purpose
TRADES = [
    (420, 430, "SHORT"), (150, 170, "LONG"), (300, 320, "SHORT"), (210, 240, "LONG"),
    (360, 380, "LONG"), (500, 520, "SHORT"), (250, 260, "SHORT"), (460, 470, "LONG"),
    (180, 190, "SHORT"), (540, 560, "LONG"),
]  # fmt: skip


def test_the_newest_fifth_is_held_out_and_scored_each_epoch(db: Database, tmp_path: Path) -> None:
    candles = CandleStore(db)
    candles.write(
        SYMBOL, "1m", synthetic_candles(600, "1m", start_ms=T0, seed=7),
        provenance=CandleSource.FILE,
    )  # fmt: skip
    store = AnnotationStore(db, candles, tmp_path / "cases", ReplayClock(T0 + 600 * M))
    anns = [store.create(SYMBOL, "1m", T0 + e * M, T0 + x * M, direction=d) for e, x, d in TRADES]
    trained, held = split_by_time(anns)
    assert len(held) == len(anns) // 5
    assert max(a.decision_time for a in trained) < min(a.decision_time for a in held)
    assert {a.entry_time for a in held} == {T0 + 540 * M, T0 + 500 * M}

    result = train_on_annotations(
        db, store, "cnn", 3, anns, clock=ReplayClock(T0 + 600 * M)
    )  # fmt: skip
    assert result.samples == len(trained)  # the held-out trades were never trained on
    for e in result.epochs:
        assert e.held_out == len(held)
        assert e.held_out_accuracy is not None
        assert e.held_out_accuracy * len(held) == round(e.held_out_accuracy * len(held))
        assert e.to_json()["held_out_accuracy"] == e.held_out_accuracy

    few = train_on_annotations(db, store, "cnn", 1, anns[:4], clock=ReplayClock(T0 + 600 * M))
    assert few.samples == 4
    assert few.epochs[0].held_out_accuracy is None

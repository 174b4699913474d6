"""The sample registry on a real DuckDB file: tampering, completeness, batched verification.

A candle changed under stored samples must quarantine exactly the samples whose windows hold
it (committed, counted, reason given) while a real model still trains on the rest.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.frames import FrameRef, make_frame_id
from ghostcandle.domain.sample_quality import QualityRules
from ghostcandle.domain.samples import NewSample, SampleSource, SampleStatus
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.training_sources import TrainingSource
from ghostcandle.domain.window import WindowSpec
from ghostcandle.domain.window_checks import SampleFlag
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.engine.training.batches import build_batch
from ghostcandle.engine.training.policy import TrainingSample
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore, FrameMismatchError
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.rollups import rollup_range
from ghostcandle.store.sample_stats import sample_stats

SYMBOL = "ETH/USDT"
M = 60_000
H = 3_600_000
T0 = 1_722_038_400_000  # a midnight
WINDOW = 30


def _store_minutes(db: Database, n: int, drop: tuple[int, ...] = ()) -> None:
    df = synthetic_candles(n, "1m", start_ms=T0, seed=9).drop(index=list(drop))
    with db.transaction() as con:
        CandleStore(db).write_in(con, SYMBOL, "1m", df, provenance=CandleSource.FILE)
        rollup_range(CandleStore(db), con, SYMBOL, "1m", T0, T0 + (n - 1) * M)


def _frame(end_minute: int, length: int = WINDOW, hours: int = 0) -> FrameRef:
    """The frame decided at the close of minute ``end_minute`` (and ``hours`` 1h candles)."""
    decision = T0 + (end_minute + 1) * M
    specs = [WindowSpec("1m", T0 + end_minute * M, length)]
    if hours:
        specs.append(WindowSpec("1h", decision - decision % H - H, hours))
    windows = tuple(specs)
    return FrameRef(
        frame_id=make_frame_id("test", SYMBOL, decision, windows),
        model="test",
        model_version="1",
        symbol=SYMBOL,
        decision_time=decision,
        windows=windows,
        target_time=decision + M,
    )


def _samples(ends: range) -> list[NewSample]:
    return [NewSample(_frame(e), SampleSource.CANDLE, "1m", e % 3) for e in ends]


def _weights(model: object) -> str:
    net = model.net  # type: ignore[attr-defined]
    h = hashlib.sha256()
    for p in net.parameters():
        h.update(p.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def test_a_changed_candle_quarantines_its_samples_and_training_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "samples.duckdb"
    db = Database(path)
    _store_minutes(db, 200)
    clock = ReplayClock(T0 + 200 * M)
    registry = SampleRegistry(db, clock)
    recorded = registry.record_many(_samples(range(40, 160, 4)))
    assert {s.status for s in recorded} == {SampleStatus.OK}
    ids = [s.sample_id for s in recorded]

    tampered = 100  # minute 100 is in the windows ending at minutes 100..129
    db.con.execute(
        "UPDATE candles SET close = close * 1.01 WHERE symbol = ? AND timeframe = '1m' "
        "AND open_time = ?",
        [SYMBOL, T0 + tampered * M],
    )
    got = registry.read(ids)
    hit = {s.sample_id for s in recorded if tampered <= (s.frame.decision_time - T0) // M - 1}
    hit &= {s.sample_id for s in recorded if (s.frame.decision_time - T0) // M - 1 < 130}
    assert {s.sample_id for s in got.quarantined} == hit
    assert len(hit) == 8
    assert all(s.reason.startswith("integrity: ") for s in got.quarantined)
    assert len(got.trainable) == len(ids) - len(hit)
    assert registry.counts.quarantined == len(hit)
    # the same frames no longer materialise for anyone
    with pytest.raises(FrameMismatchError):
        FrameStore(db).get_inference_data(got.quarantined[0].frame)

    # a real model trains on the rest, through the one batch builder
    model = create_model("cnn", timeframes=["1m"], windows={"1m": WINDOW}, seed=1)
    batch = build_batch(
        FrameStore(db),
        [
            TrainingSample(s.frame, s.timeframe, s.label, TrainingSource.CANDLE)
            for s in got.trainable
        ],
        model.windows,
        model.timeframes,
        clock.now_ms(),
    )
    assert batch is not None
    assert batch.dropped == 0
    assert len(batch.frame_ids) == len(got.trainable)
    before = _weights(model)
    losses = model.train_step(batch.batch)
    assert np.isfinite(losses["loss"])
    assert _weights(model) != before

    # committed: a fresh process sees them quarantined, counted once, never read again
    db.close()
    with Database(path) as again:
        second = SampleRegistry(again, clock).read(ids)
        assert {s.sample_id for s in second.held} == hit
        assert not second.quarantined
        stats = sample_stats(again)
        assert stats.by_status() == {"ok": len(ids) - len(hit), "quarantined": 8, "excluded": 0}
        assert [r["reason"] for r in stats.reasons] == ["integrity"]
        assert {q["sample_id"] for q in stats.quarantined} == hit


def test_completeness_of_a_gappy_window_decides_whether_it_is_trained(db: Database) -> None:
    _store_minutes(db, 120, drop=(50, 51, 52, 70, 71, 72, 73, 74))
    registry = SampleRegistry(db, ReplayClock(T0))
    # minutes 31..60 hold 3 holes: 27/30; minutes 50..79 hold all 8: 22/30
    three, eight, late = registry.record_many(
        [
            NewSample(_frame(60), SampleSource.PIVOT, "1m", 1),
            NewSample(_frame(79), SampleSource.PIVOT, "1m", 2),
            NewSample(_frame(74), SampleSource.PIVOT, "1m", 2),
        ]
    )
    assert three.quality.completeness == pytest.approx(27 / 30)
    assert three.status is SampleStatus.OK
    assert three.quality.flags == SampleFlag.NO_WARMUP
    assert eight.quality.completeness == pytest.approx(22 / 30)
    assert eight.status is SampleStatus.EXCLUDED
    assert eight.reason == "incomplete: completeness 0.73 < 0.80 (1m 0.73)"
    assert SampleFlag.RECENT_GAP in late.quality.flags  # its newest candles are missing
    assert three.quality.provenance == {"file": 27}
    got = registry.read([three.sample_id, eight.sample_id])
    assert [s.sample_id for s in got.trainable] == [three.sample_id]
    assert [s.sample_id for s in got.excluded] == [eight.sample_id]
    # a stricter reader excludes the first too, without changing what is stored
    strict = SampleRegistry(db, ReplayClock(T0), rules=QualityRules(min_completeness=0.95))
    assert strict.read([three.sample_id]).excluded
    assert registry.store.get([three.sample_id])[0].status is SampleStatus.OK


def test_an_incomplete_rollup_counts_as_missing(db: Database) -> None:
    _store_minutes(db, 6 * 60, drop=(150,))  # hour 2 loses a minute: stored incomplete
    registry = SampleRegistry(db, ReplayClock(T0))
    sample = registry.record(
        _frame(6 * 60 - 1, hours=6), SampleSource.MANUAL, timeframe="1m", label=1
    )
    assert sample.quality.per_timeframe == {"1m": 1.0, "1h": pytest.approx(5 / 6)}
    assert sample.quality.completeness == pytest.approx(5 / 6)
    assert sample.quality.provenance == {"file": WINDOW, "rollup": 6}
    assert sample.status is SampleStatus.OK


def test_recording_twice_stores_one_sample_and_a_stale_frame_is_quarantined_at_once(
    db: Database,
) -> None:
    _store_minutes(db, 100)
    registry = SampleRegistry(db, ReplayClock(T0))
    first = registry.record(_frame(60), SampleSource.CANDLE, timeframe="1m", label=1)
    again = registry.record(_frame(60), SampleSource.CANDLE, timeframe="1m", label=1)
    assert first.sample_id == again.sample_id
    assert registry.store.count() == 1
    assert first.frame.input_hash  # the hash of what was stored when it was recorded

    stale = FrameRef(**{**_frame(70).__dict__, "input_hash": "0" * 64})
    bad = registry.record(stale, SampleSource.CANDLE, timeframe="1m", label=0)
    assert bad.status is SampleStatus.QUARANTINED
    assert bad.reason.startswith("integrity: ")
    assert not registry.eligible().held  # eligible never reads quarantined samples again
    assert [s.sample_id for s in registry.eligible().trainable] == [first.sample_id]


def test_a_batch_of_recent_samples_reads_each_series_once(db: Database) -> None:
    _store_minutes(db, 6 * 60)
    registry = SampleRegistry(db, ReplayClock(T0))
    items = [NewSample(_frame(e, hours=3), SampleSource.CANDLE, "1m", 0) for e in range(200, 232)]
    ids = [s.sample_id for s in registry.record_many(items)]
    reads = registry.store.rows.reads
    got = registry.read(ids)
    assert len(got.trainable) == 32
    assert registry.store.rows.reads - reads == 2  # one 1m read, one 1h read


def test_eligible_keeps_samples_recorded_after_the_replay_time_out(db: Database) -> None:
    _store_minutes(db, 100)
    registry = SampleRegistry(db, ReplayClock(T0))
    early = registry.record_many(_samples(range(40, 50)), at=T0 + 51 * M)
    late = registry.record_many(_samples(range(50, 60)), at=T0 + 61 * M)
    known = registry.eligible(known_by=T0 + 55 * M).trainable
    assert {s.sample_id for s in known} == {s.sample_id for s in early}
    newest = registry.eligible(limit=3).trainable
    assert [s.sample_id for s in newest] == [s.sample_id for s in late[-3:]]

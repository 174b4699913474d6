"""Frames by reference, the prediction ledger and sessions on a real DuckDB file."""

from __future__ import annotations

import dataclasses

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.frames import FrameRef, frame_hash, make_frame_id
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.window import WindowSpec
from ghostcandle.store.candles import CandleStore, FrameMismatchError
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore, copy_bytes, stored_bytes
from ghostcandle.store.predictions import PredictionLedger
from ghostcandle.store.sessions import SessionStore, TrainingStepRecord

from ..store.ledger_rows import record as _record

T0 = 1_700_000_000_000 - 1_700_000_000_000 % 86_400_000
SYM = "ETH/USDT"


def _frame(store: CandleStore, end: int) -> FrameRef:
    specs = (WindowSpec("1m", end, 120),)
    windows = [store.window(SYM, s) for s in specs]
    return FrameRef(
        frame_id=make_frame_id("cnn/1m", SYM, end + 60_000, specs),
        model="cnn",
        model_version="cnn-abc-3",
        symbol=SYM,
        decision_time=end + 60_000,
        windows=specs,
        norm_params={"1m.price_ref": 3001.25, "1m.price_scale": 0.5, "1m.volume_scale": 0.1},
        input_hash=frame_hash(windows),
        target_time=end + 120_000,
    )


def test_frame_round_trips_by_reference_and_detects_changed_candles(store: CandleStore) -> None:
    store.write(
        SYM, "1m", synthetic_candles(300, "1m", start_ms=T0, seed=3), provenance=CandleSource.FILE
    )
    frames = FrameStore(store.db, store)
    ref = _frame(store, T0 + 200 * 60_000)
    frames.register_inference_frame(ref, "1m")
    frames.register_inference_frame(ref, "1m")  # idempotent
    assert frames.count() == 1
    back = frames.get(ref.frame_id)
    assert back == ref
    windows = frames.get_inference_data(back)
    assert frame_hash(windows) == ref.input_hash
    # a reference is far smaller than a copy of its candles
    assert stored_bytes(ref, "1m") * 10 < copy_bytes(windows)
    assert frames.at_decision(SYM, "1m", ref.decision_time) == [ref]
    # a candle changed behind the frame's back is detected, not silently used
    with store.db.transaction() as con:
        con.execute(
            "UPDATE candles SET close = close + 1 WHERE symbol = ? AND open_time = ?",
            [SYM, T0 + 150 * 60_000],
        )
    with pytest.raises(FrameMismatchError):
        frames.get_inference_data(back)


def test_ledger_upserts_and_resolves(db: Database) -> None:
    ledger = PredictionLedger(db)
    a, b = _record("a", T0), _record("b", T0 + 60_000)
    ledger.write([a, b])
    assert [p.prediction_id for p in ledger.pending("s1")] == ["a", "b"]
    candle = Candle(SYM, "1m", T0, 100.0, 100.4, 99.8, 100.2, 8.0)
    resolved = a.resolve(candle, at=T0 + 60_000, threshold=0.0005)
    assert resolved.status == "resolved"
    assert resolved.action_correct is True  # +0.2% is a BUY
    assert resolved.price_error == pytest.approx(0.3 / 100.2)
    assert resolved.volume_error == pytest.approx(2.0 / 8.0)
    assert resolved.reward == pytest.approx(0.002)
    ledger.write([resolved, b.expire(T0 + 999)])
    assert ledger.counts("s1") == {"pending": 0, "resolved": 1, "expired": 1}
    assert ledger.get("a") == resolved
    df = ledger.frame("s1")
    assert list(df["prediction_id"]) == ["a"]
    # a SELL on a rising candle is wrong and loses the move
    wrong = dataclasses.replace(a, action="SELL").resolve(candle, at=1, threshold=0.0005)
    assert wrong.action_correct is False
    assert wrong.reward == pytest.approx(-0.002)


def test_sessions_record_progress_checkpoint_and_steps(db: Database) -> None:
    sessions = SessionStore(db)
    sessions.create("s1", "replay", {"model": "cnn", "mode": "none"}, now=5)
    with db.transaction() as con:
        sessions.progress_in(con, "s1", progress_time=T0, events=7, train_steps=2, now=6)
        sessions.log_steps_in(
            con, [TrainingStepRecord("s1", "cnn", 1, T0, "every_candle", ("f1", "f2"), 0.5, "ok")]
        )
    sessions.set_checkpoint("s1", "/tmp/x.pt", 2, now=7)
    sessions.set_status("s1", "finished", now=8, summary={"predictions": 3})
    row = sessions.require("s1")
    assert (row.progress_time, row.events, row.train_steps) == (T0, 7, 2)
    assert (row.checkpoint_path, row.checkpoint_step, row.status) == ("/tmp/x.pt", 2, "finished")
    assert row.summary == {"predictions": 3}
    assert row.config["mode"] == "none"
    assert sessions.steps("s1")[0].frame_ids == ("f1", "f2")


@pytest.mark.parametrize("n", [2, 40])  # one VALUES statement, and the Arrow path
def test_ledger_insert_then_outcome_paths_agree(db: Database, n: int) -> None:
    ledger = PredictionLedger(db)
    recs = [_record(f"p{i}", T0 + i * 60_000) for i in range(n)]
    with db.transaction() as con:
        ledger.insert_in(con, recs)
    assert len(ledger.pending("s1")) == n
    candle = Candle(SYM, "1m", T0, 100.0, 100.4, 99.8, 99.7, 8.0)
    done = [r.resolve(candle, at=T0 + 1, threshold=0.0005) for r in recs[: n // 2]]
    gone = [r.expire(T0 + 2) for r in recs[n // 2 :]]
    with db.transaction() as con:
        ledger.outcome_in(con, done + gone)
    for r in done + gone:
        assert ledger.get(r.prediction_id) == r

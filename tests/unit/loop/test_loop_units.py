"""Pure parts of the loop: resolver, training policy, evaluation figures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.events import CandleCompletionEvent, Pivot, PivotEvent
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.window import WindowSpec
from ghostcandle.engine.evaluation.report import evaluate, wilson_interval
from ghostcandle.engine.loop.coordinator import InferenceTrainingCoordinator
from ghostcandle.engine.loop.resolver import Resolver
from ghostcandle.engine.training.policy import Schedule, TrainingPolicy, TrainingSample
from ghostcandle.store.predictions import PredictionRecord

M = 60_000
SYM = "ETH/USDT"


def _rec(
    pid: str, target_open: int, *, model: str = "cnn", close: float = 101.0
) -> PredictionRecord:
    return PredictionRecord(
        prediction_id=pid, session_id="s", model=model, model_version="v", symbol=SYM,
        timeframe="1m", frame_id="f" + pid, decision_time=target_open,
        target_open_time=target_open, target_time=target_open + M, expires_at=target_open + 4 * M,
        ref_close=100.0, pred_open=100.0, pred_high=102.0, pred_low=99.0, pred_close=close,
        pred_volume=1.0, action="BUY", p_hold=0.1, p_buy=0.8, p_sell=0.1, confidence=0.8,
    )  # fmt: skip


def test_resolver_resolves_by_target_and_expires_after_grace() -> None:
    r = Resolver()
    r.add(_rec("a", 0))
    r.add(_rec("a", 0))  # the same prediction twice is held once
    r.add(_rec("b", M))
    assert len(r) == 2
    assert r.on_candle(Candle(SYM, "1m", 5 * M, 1, 1, 1, 1, 1), 6 * M) == []
    done = r.on_candle(Candle(SYM, "1m", 0, 100, 101, 99, 100.5, 2), M)
    assert [(d.prediction_id, d.status, d.actual_close) for d in done] == [("a", "resolved", 100.5)]
    assert r.expire(5 * M) == []  # b's deadline is 5M: not yet past
    gone = r.expire(5 * M + 1)
    assert [(g.prediction_id, g.status) for g in gone] == [("b", "expired")]
    assert len(r) == 0


def test_resolved_targets_deadlines_do_not_pile_up_when_the_clock_never_reaches_them() -> None:
    r = Resolver()  # a live clock behind a simulator's candles: no deadline ever passes
    for i in range(5_000):
        r.add(_rec(f"p{i}", i * M))
        r.on_candle(Candle(SYM, "1m", i * M, 100, 101, 99, 100.5, 2), 0)
        assert r.expire(0) == []
    assert r.resolved == 5_000
    assert len(r) == 0
    assert r.deadlines_held <= 300
    r.add(_rec("late", 10_000 * M))  # a held target keeps its deadline through compaction
    for i in range(600):
        r.add(_rec(f"q{i}", (20_000 + i) * M))
        r.on_candle(Candle(SYM, "1m", (20_000 + i) * M, 100, 101, 99, 100.5, 2), 0)
    assert [g.prediction_id for g in r.expire(10_000 * M + 4 * M + 1)] == ["late"]


def _frame(t: int) -> FrameRef:
    return FrameRef(
        frame_id=f"f{t}", model="cnn", model_version="v", symbol=SYM, decision_time=t,
        windows=(WindowSpec("1m", t - M, 5),), norm_params={"1m.price_ref": 100.0},
        input_hash="h", target_time=t + M,
    )  # fmt: skip


def _event(open_time: int, close: float) -> CandleCompletionEvent:
    return CandleCompletionEvent(SYM, "1m", Candle(SYM, "1m", open_time, 100, 101, 99, close, 1))


def _every_candle(got: list[tuple[list[TrainingSample], str]]) -> TrainingPolicy:
    """An ``every_candle`` policy (batches of 3, every 2 resolved) handing batches to ``got``."""
    return TrainingPolicy(
        "every_candle", lambda b, r: got.append((list(b), r)),
        {"1m": Schedule(batch_size=3, buffer_size=10, interval=2)},
    )  # fmt: skip


def test_every_candle_labels_by_price_move_and_batches_on_schedule() -> None:
    got: list[tuple[list[TrainingSample], str]] = []
    p = _every_candle(got)
    p.on_candle_completion(_event(M, 100.2), _frame(M))  # +0.2%: BUY
    assert got == []  # interval 2: not yet
    p.on_candle_completion(_event(2 * M, 99.99), _frame(2 * M))  # -0.01%: HOLD
    assert len(got) == 1
    assert [(s.frame.decision_time, Action(s.action)) for s in got[0][0]] == [
        (M, Action.BUY),
        (2 * M, Action.HOLD),
    ]
    p.on_candle_completion(_event(3 * M, 99.0), _frame(3 * M))  # SELL
    p.on_candle_completion(_event(4 * M, 99.0), _frame(4 * M))
    batch = got[1][0]
    assert len(batch) == 3  # two new samples, filled up from the buffer
    assert [s.frame.decision_time for s in batch[:2]] == [3 * M, 4 * M]
    assert batch[2].frame.decision_time in (M, 2 * M)


def test_modes_decide_what_trains() -> None:
    got: list[str] = []
    none = TrainingPolicy("none", lambda b, r: got.append(r))
    none.on_candle_completion(_event(M, 105.0), _frame(M))
    piv = PivotEvent(SYM, "1m", Pivot(SYM, "1m", 0, 99.0, "L1L", 1, 1.0, 3 * M))
    none.on_pivot_event(piv, [_frame(M)])
    assert got == []
    only = TrainingPolicy("pivots_only", lambda b, r: got.append(r))
    only.on_candle_completion(_event(M, 105.0), _frame(M))
    assert got == []
    only.on_pivot_event(piv, [_frame(M)])
    assert got == ["pivot"]
    assert Action(only.buffered("1m")[0].action) is Action.BUY


def test_every_candle_pivots_ride_in_the_next_batch_of_resolved_predictions() -> None:
    got: list[tuple[list[TrainingSample], str]] = []
    p = _every_candle(got)
    p.on_candle_completion(_event(M, 100.2), _frame(M))
    low = PivotEvent(SYM, "1m", Pivot(SYM, "1m", 0, 99.0, "L1L", 1, 1.0, 2 * M))
    p.on_pivot_event(low, [_frame(M)])
    assert got == []  # a confirmed pivot waits for the batch; it does not count towards it
    p.on_candle_completion(_event(2 * M, 99.0), _frame(2 * M))
    ((batch, reason),) = got
    assert reason == "candle"
    # the pivot's sample, then the newest resolved predictions (at most batch_size of them)
    assert [(s.frame.decision_time, s.reason, Action(s.action)) for s in batch] == [
        (M, "pivot", Action.BUY),
        (M, "candle", Action.BUY),
        (2 * M, "candle", Action.SELL),
    ]
    p.on_candle_completion(_event(3 * M, 99.0), _frame(3 * M))
    assert len(got) == 1  # the pivot counted for nothing: one resolved prediction since


def test_coordinator_matches_targets_and_pivot_candles() -> None:
    seen: list[tuple[str, object]] = []

    class Sub:
        def on_candle_completion(self, event: CandleCompletionEvent, frame_ref: FrameRef) -> None:
            seen.append(("candle", frame_ref.frame_id))

        def on_pivot_event(self, event: PivotEvent, frame_refs: object) -> None:
            seen.append(("pivot", [f.frame_id for f in frame_refs]))  # type: ignore[attr-defined]

    c = InferenceTrainingCoordinator()
    c.add_subscriber(Sub())
    c.register("1m", _frame(M))  # decided at M: targets the candle opening at M
    c.register("1m", _frame(2 * M))
    c.on_candle_completion(_event(M, 100.0))
    assert seen == [("candle", f"f{M}")]
    # a pivot on the candle opening at M was decided at its close, 2M
    c.on_pivot_event(PivotEvent(SYM, "1m", Pivot(SYM, "1m", M, 99.0, "L1L", 1, 1.0, 5 * M)))
    assert seen[-1] == ("pivot", [f"f{2 * M}"])


def test_wilson_interval_matches_the_closed_form() -> None:
    lo, hi = wilson_interval(8, 10)  # type: ignore[misc]
    z, n, p = 1.959964, 10, 0.8
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    assert (lo + hi) / 2 == pytest.approx(centre)
    assert wilson_interval(0, 0) is None


def test_evaluation_scores_models_beside_persistence_on_the_same_targets() -> None:
    rows = []
    for i, actual in enumerate([101.0, 99.0, 102.0, 100.0]):
        t = i * M
        for model, pred in (("persistence", 100.0), ("cnn", actual + 0.5)):
            r = dataclasses.replace(_rec(f"{model}{i}", t, model=model, close=pred))
            r = r.resolve(Candle(SYM, "1m", t, 100, max(actual, 100) + 1, 98, actual, 1), t + M)
            rows.append(dataclasses.asdict(r))
    ev = evaluate(pd.DataFrame(rows))
    assert ev["cnn"]["1m"]["mae_close"] == pytest.approx(0.5)
    p_mae = np.mean([1.0, 1.0, 2.0, 0.0])
    assert ev["persistence"]["1m"]["mae_close"] == pytest.approx(p_mae)
    assert ev["cnn"]["1m"]["skill_ratio"] == pytest.approx(0.5 / p_mae)
    # cnn's predicted moves (+1.5, -0.5, +2.5, +0.5) vs actual (+1, -1, +2, 0): 3 of 3 that moved
    assert ev["cnn"]["1m"]["directional"]["n"] == 3
    assert ev["cnn"]["1m"]["directional"]["accuracy"] == 1.0
    assert ev["persistence"]["1m"]["directional"]["n"] == 0
    # cnn always says BUY: right on +1% and +2%, wrong on -1% and 0
    assert ev["cnn"]["1m"]["action_accuracy"] == 0.5
    assert ev["cnn"]["1m"]["calibration"] == [
        {"confidence": [0.8, 1.0], "n": 4, "mean_confidence": 0.8, "accuracy": 0.5}
    ]

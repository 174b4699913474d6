"""The outcome validator on a real database: due, validated, expired, restarted, in background."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from ghostcandle.domain.actions import Action
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.events import RapidMoveEvent
from ghostcandle.domain.outcomes import OutcomeConfig
from ghostcandle.engine.samples.outcomes import OutcomeRequest, OutcomeValidator, ValidationReport
from ghostcandle.engine.samples.replay import ReplayMode, ReplaySettings, stored_pool
from ghostcandle.store.db import Database
from ghostcandle.store.rapid_moves import RapidMoveStore

from .conftest import SYMBOL, T0, M, write_candles

H = 3
CFG = OutcomeConfig(horizons={"1m": H})
FLAT = [(100.0, 100.0, 100.0, 100.0)] * 24
#: after 24 flat candles, the decision's candle closes at 100 (decision time T), then the horizon
PATH = [
    (100.0, 100.0, 100.0, 100.0),
    (100.0, 101.0, 99.5, 100.5),
    (100.5, 102.5, 100.2, 102.0),
    (102.0, 102.2, 100.9, 101.0),
]
T = T0 + 25 * M
KNOWN = T + H * M


def request(sample_id: str, t: int = T, action: Action | None = None) -> OutcomeRequest:
    return OutcomeRequest(
        sample_id, SYMBOL, "1m", t, frame_id=f"f-{sample_id}", action_taken=action
    )


def test_validated_once_its_horizon_has_closed(db: Database) -> None:
    write_candles(db, FLAT + PATH, T0)
    v = OutcomeValidator(db, config=CFG, clock=ReplayClock(T))
    assert v.enqueue([request("a", action=Action.BUY), request("b")]) == 2
    assert v.enqueue([request("a", action=Action.SELL)]) == 0  # a known sample is kept as it is
    assert v.store.counts() == {"pending": 2}
    # one candle short of the horizon: nothing is due
    assert v.run_due(KNOWN - 1).validated == 0
    report = v.run_due(KNOWN)
    assert (report.validated, report.expired, report.waiting) == (2, 0, 0)
    a = v.store.get("a")
    assert a is not None
    assert a["status"] == "validated"
    assert (a["frame_id"], a["decision_time"], a["known_at"]) == ("f-a", T, KNOWN)
    assert a["ref_close"] == 100.0
    assert a["forward_return"] == pytest.approx(0.01)
    assert (a["mfe"], a["mae"]) == (pytest.approx(0.025), pytest.approx(-0.005))
    assert a["best_action"] == "BUY"
    assert a["best_profit"] == pytest.approx(0.025 - CFG.cost)
    assert a["taken_profit"] == pytest.approx(0.01 - CFG.cost)
    # 20 flat candles before: no volatility, the unit is the cost
    assert a["unit"] == pytest.approx(CFG.cost)
    assert a["is_profitable"] is True
    assert a["validated_at"] == KNOWN
    b = v.store.get("b")
    assert b is not None
    assert b["taken_profit"] is None  # no action taken
    assert v.run_due(KNOWN + M).validated == 0  # nothing twice


def test_outcome_past_the_end_of_the_data_expires(db: Database) -> None:
    write_candles(db, FLAT + PATH[:2], T0)  # the horizon's last two candles never come
    v = OutcomeValidator(db, config=CFG, clock=ReplayClock(T))
    v.enqueue([request("late")])
    expires = KNOWN + CFG.grace_ms("1m", H)
    r = v.run_due(KNOWN)
    assert (r.validated, r.expired, r.waiting) == (0, 0, 1)
    assert v.store.counts() == {"pending": 1}
    r = v.run_due(expires - 1)
    assert r.waiting == 1
    r = v.run_due(expires)
    assert (r.validated, r.expired) == (0, 1)
    row = v.store.get("late")
    assert row is not None
    assert row["status"] == "expired"
    assert row["profitability"] is None


def test_late_candles_within_the_grace_still_validate(db: Database) -> None:
    write_candles(db, FLAT + PATH[:2], T0)
    v = OutcomeValidator(db, config=CFG, clock=ReplayClock(T))
    v.enqueue([request("x")])
    assert v.run_due(KNOWN).waiting == 1
    write_candles(db, PATH[2:], T + M)  # backfilled before the grace ran out
    assert v.run_due(KNOWN + M).validated == 1


def test_restart_resumes_from_the_table(tmp_path: Path) -> None:
    path = tmp_path / "o.duckdb"
    with Database(path) as db:
        write_candles(db, FLAT + PATH, T0)
        OutcomeValidator(db, config=CFG, clock=ReplayClock(T)).enqueue([request("r")])
    with Database(path) as db:
        v = OutcomeValidator(db, config=CFG)
        assert v._next_due == KNOWN  # learnt from the pending row, not from memory
        assert v.run_due(KNOWN).validated == 1


def test_background_worker_wakes_on_candle_close(db: Database) -> None:
    write_candles(db, FLAT + PATH, T0)
    v = OutcomeValidator(db, config=CFG, clock=ReplayClock(T), poll_s=30.0).start()
    try:
        v.enqueue([request("bg")])
        v.on_candle(KNOWN - M)  # not due yet: the worker sleeps on
        time.sleep(0.2)
        assert v.store.counts() == {"pending": 1}
        v.on_candle(KNOWN)
        deadline = time.monotonic() + 10
        while v.store.counts().get("validated") != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert v.store.counts() == {"validated": 1}
    finally:
        v.stop()


class _StartTimed(OutcomeValidator):
    """The validator, noting when each run starts (the interval is between starts)."""

    starts: list[float]

    def run_due(self, now: int) -> ValidationReport:
        self.starts.append(time.monotonic())
        return super().run_due(now)


def test_background_runs_are_at_least_min_interval_apart(db: Database) -> None:
    write_candles(db, FLAT + PATH + PATH[1:], T0)
    v = _StartTimed(db, config=CFG, clock=ReplayClock(T), poll_s=30.0, min_interval_s=0.6)
    v.starts = []
    v.start()
    try:
        v.enqueue([request("first"), request("second", T + M)])
        v.on_candle(KNOWN)  # the first is due: validated at once
        deadline = time.monotonic() + 10
        while v.store.counts().get("validated") != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        v.on_candle(KNOWN + M)  # the second is due at once, but waits for the interval
        while v.store.counts().get("validated") != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert v.store.counts() == {"validated": 2}
        runs = v.starts
        assert len(runs) >= 2
        assert all(b - a >= 0.6 for a, b in itertools.pairwise(runs))
    finally:
        v.stop()


def test_rapid_move_in_the_horizon_marks_a_premium_sample(db: Database) -> None:
    write_candles(db, FLAT + PATH + PATH[1:], T0)
    RapidMoveStore(db).write(
        [RapidMoveEvent(SYMBOL, "1m", "velocity", T + M, T + 2 * M, 0.9, 0.5, 1)]
    )
    v = OutcomeValidator(db, config=CFG, clock=ReplayClock(T))
    v.enqueue([request("in"), request("after", T + 3 * M)])
    v.run_due(T + 6 * M)
    assert [v.store.get(s)["rapid_move"] for s in ("in", "after")] == [True, False]  # type: ignore[index]


def test_only_outcomes_known_by_as_of(db: Database) -> None:
    write_candles(db, FLAT + PATH + PATH[1:], T0)
    v = OutcomeValidator(db, config=CFG, clock=ReplayClock(T))
    v.enqueue([request("early"), request("later", T + 3 * M)])
    v.run_due(T + 6 * M)
    assert v.store.validated(as_of=KNOWN)["sample_id"].tolist() == ["early"]
    assert v.store.validated(as_of=KNOWN + 3 * M)["sample_id"].tolist() == ["early", "later"]


def test_finish_flips_only_pending_rows(db: Database) -> None:
    write_candles(db, FLAT + PATH, T0)
    v = OutcomeValidator(db, config=CFG, clock=ReplayClock(T))
    v.enqueue([request("once")])
    rows = v.store.due(KNOWN)
    done, expired, _ = v._evaluate(rows, KNOWN)
    with db.transaction() as con:
        assert v.store.finish_in(con, done, expired, at=KNOWN, validator_id="first") == 1
    with db.transaction() as con:  # the same batch again (a retry): changes nothing
        assert v.store.finish_in(con, done, ["once"], at=KNOWN + 1, validator_id="again") == 0
    row = v.store.get("once")
    assert row is not None
    assert (row["status"], row["validator_id"], row["validated_at"]) == (
        "validated",
        "first",
        KNOWN,
    )


def test_misaligned_decision_time_is_refused(db: Database) -> None:
    v = OutcomeValidator(db, config=CFG)
    with pytest.raises(ValueError, match="not a close"):
        v.enqueue([request("odd", T + 1)])
    assert v.store.counts() == {}


def test_a_pool_at_t_weighs_only_outcomes_known_by_t(db: Database) -> None:
    write_candles(db, FLAT + PATH + PATH[1:], T0)
    v = OutcomeValidator(db, config=CFG, clock=ReplayClock(T))
    v.enqueue([request("early"), request("later", T + 3 * M)])
    v.run_due(T + 6 * M)  # both validated now; "later" was not known at KNOWN
    ids, labels = ["never", "early", "later"], np.array([0, 1, 2])
    profitable = ReplaySettings(mode=ReplayMode.PROFITABLE)
    assert stored_pool(
        v.store, ids, labels, as_of=KNOWN, settings=profitable
    ).positions.tolist() == [1]
    both = stored_pool(v.store, ids, labels, as_of=KNOWN + 3 * M, settings=profitable)
    assert both.positions.tolist() == [1, 2]
    assert (both.priority > 0).all()
    with pytest.raises(DataMissingError, match="none of the 3 samples"):
        stored_pool(v.store, ids, labels, as_of=KNOWN - 1, settings=profitable)

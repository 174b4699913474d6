"""A backtest that trains steps every ``train_every`` resolved predictions, repeatably.

The live 1m schedule trains after every resolved prediction; a backtest batches them. A
confirmed pivot's samples ride in the next batch of resolved predictions (``every_candle``),
or train at once (``pivots_only``): the step records say how many steps trained on candles and
on pivots, the samples which frames came from pivots, and a rerun gives the same trades.
"""

from __future__ import annotations

import dataclasses

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.training_modes import TrainingMode
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestService
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import SessionStore

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000


def _steps(db: Database, session_id: str | None, reason: str) -> int:
    return sum(s.reason == reason for s in SessionStore(db).steps(session_id or ""))


def _pivot_times(db: Database, session_id: str | None) -> set[int]:
    """Return the decision times of the pivot samples the session's steps trained on."""
    trained = {f for s in SessionStore(db).steps(session_id or "") for f in s.frame_ids}
    with db.cursor() as cur:
        rows = cur.execute(
            "SELECT frame_id, decision_time FROM training_samples WHERE source = 'pivot'"
        ).fetchall()
    return {int(r[1]) for r in rows if str(r[0]) in trained}


def test_training_steps_come_every_train_every_samples_and_repeat(db: Database) -> None:
    CandleStore(db).write(
        SYMBOL,
        "1m",
        synthetic_candles(200, "1m", start_ms=T0, seed=4),
        provenance=CandleSource.FILE,
    )
    svc = BacktestService(db)
    req = BacktestRequest(
        model="excursion_mlp",
        symbol=SYMBOL,
        timeframe="1m",
        start=T0 + 40 * M,
        end=T0 + 160 * M,
        model_config={"windows": {"1m": 30}, "hidden": 16},
        train=TrainingMode.PIVOTS_ONLY,
    )
    pivots_only = svc.run(req)
    pivot_steps = _steps(db, pivots_only.session_id, "pivot")
    assert pivot_steps > 3  # a step per confirmed pivot
    every = dataclasses.replace(req, train=TrainingMode.EVERY_CANDLE, train_every=1)
    batched = dataclasses.replace(every, train_every=8)
    one, eight, again = svc.run(every), svc.run(batched), svc.run(batched)
    resolved = _steps(db, one.session_id, "candle")
    assert resolved > 80  # a step per resolved prediction
    # no step of its own for a pivot: its samples ride in the next batch of 8 resolved
    assert _steps(db, one.session_id, "pivot") == _steps(db, eight.session_id, "pivot") == 0
    assert _steps(db, eight.session_id, "candle") <= resolved // 8
    # the same pivots train, but those confirmed after the last batch of 8 wait for the next
    at_once, riding = _pivot_times(db, pivots_only.session_id), _pivot_times(db, eight.session_id)
    assert riding <= at_once
    assert len(riding) >= len(at_once) - batched.train_every > 0
    assert eight.trades == again.trades
    assert eight.equity_curve == again.equity_curve
    with pytest.raises(UserInputError, match="train_every 0"):
        svc.run(dataclasses.replace(req, train_every=0))

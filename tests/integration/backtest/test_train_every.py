"""A backtest that trains steps every ``train_every`` resolved predictions, repeatably.

The live 1m schedule trains after every resolved prediction; a backtest batches them (a
confirmed pivot still trains at once, with the predictions waiting): the step records say how
many steps trained on candles and on pivots, and a rerun gives the same trades.
"""

from __future__ import annotations

import dataclasses

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestService
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOL = "ETH/USDT"
M = 60_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000


def _steps(db: Database, session_id: str | None, reason: str) -> int:
    row = (
        db.cursor()
        .execute(
            "SELECT count(*) FROM training_steps WHERE session_id = ? AND reason = ?",
            [session_id, reason],
        )
        .fetchone()
    )
    assert row is not None
    return int(row[0])


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
        train="pivots_only",
    )
    every = dataclasses.replace(req, train="every_candle", train_every=1)
    batched = dataclasses.replace(every, train_every=8)
    one, eight, again = svc.run(every), svc.run(batched), svc.run(batched)
    resolved = _steps(db, one.session_id, "candle")
    assert resolved > 80  # a step per resolved prediction
    # the same pivots train at once; between them, a step per 8 resolved predictions at most
    assert _steps(db, eight.session_id, "pivot") == _steps(db, one.session_id, "pivot")
    assert _steps(db, eight.session_id, "candle") <= resolved // 8
    assert eight.trades == again.trades
    assert eight.equity_curve == again.equity_curve
    with pytest.raises(UserInputError, match="train_every 0"):
        svc.run(dataclasses.replace(req, train_every=0))

"""A prediction settles into the record ``dataclasses.replace`` gives, field for field."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD, action_from_move
from ghostcandle.domain.candles import Candle
from ghostcandle.store.predictions import (
    EXPIRED,
    FIELDS,
    PENDING,
    RESOLVED,
    PredictionRecord,
)


def _made(rng: np.random.Generator, i: int) -> PredictionRecord:
    ref = float(rng.uniform(10, 5000))
    p = rng.dirichlet([1.0, 1.0, 1.0])
    t = int(rng.integers(0, 2**40))
    return PredictionRecord(
        prediction_id=f"p{i}", session_id="s", model="cnn", model_version=f"cnn-{i}",
        symbol="ETH/USDT", timeframe="1s", frame_id=f"f{i}", decision_time=t,
        target_open_time=t, target_time=t + 1000, expires_at=t + 5000, ref_close=ref,
        pred_open=ref, pred_high=ref * 1.01, pred_low=ref * 0.99,
        pred_close=ref * float(rng.uniform(0.98, 1.02)), pred_volume=float(rng.uniform(0, 9)),
        action=str(rng.choice(["BUY", "SELL", "HOLD"])), p_hold=float(p[0]), p_buy=float(p[1]),
        p_sell=float(p[2]), confidence=float(p.max()), created_at=int(rng.integers(0, 2**40)),
    )  # fmt: skip


def _replaced(rec: PredictionRecord, c: Candle, at: int, threshold: float) -> PredictionRecord:
    """The rule written out with ``dataclasses.replace`` (the reference)."""
    side = {"BUY": 1.0, "SELL": -1.0}.get(rec.action, 0.0)
    label = action_from_move(rec.ref_close, c.close, threshold).name
    return dataclasses.replace(
        rec, status=RESOLVED, actual_open=c.open, actual_high=c.high, actual_low=c.low,
        actual_close=c.close, actual_volume=c.volume,
        price_error=abs(rec.pred_close - c.close) / c.close,
        volume_error=abs(rec.pred_volume - c.volume) / max(c.volume, 1e-12),
        action_correct=rec.action == label, reward=side * (c.close / rec.ref_close - 1.0),
        resolved_at=at,
    )  # fmt: skip


@pytest.mark.parametrize("threshold", [DEFAULT_MOVE_THRESHOLD, 0.0, 0.01])
def test_resolve_and_expire_give_the_replaced_records(threshold: float) -> None:
    rng = np.random.default_rng(7)
    for i in range(300):
        rec = _made(rng, i)
        assert rec.status == PENDING
        move = float(rng.choice([0.0, rng.normal(0, 0.004)]))  # flat targets too
        close = rec.ref_close * (1.0 + move)
        vol = float(rng.choice([0.0, rng.uniform(0, 9)]))  # a zero volume too
        c = Candle("ETH/USDT", "1s", rec.target_open_time, close, close * 1.001, close * 0.999,
                   close, vol)  # fmt: skip
        at = int(rng.integers(0, 2**40))
        got, want = rec.resolve(c, at, threshold), _replaced(rec, c, at, threshold)
        for name in FIELDS:  # each field's value and type, not only equality
            a, b = getattr(got, name), getattr(want, name)
            assert (a, type(a)) == (b, type(b)), name
        gone = rec.expire(at)
        assert gone == dataclasses.replace(rec, status=EXPIRED, resolved_at=at)
        assert gone.actual_close is None
        assert gone.reward is None
        assert gone.created_at == rec.created_at

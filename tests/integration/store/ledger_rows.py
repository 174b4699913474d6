"""A pending prediction of the ledger for tests: session ``s1``, a BUY on ETH/USDT 1m."""

from __future__ import annotations

from ghostcandle.store.predictions import PredictionRecord


def record(pid: str, t: int) -> PredictionRecord:
    """Return prediction ``pid`` decided at ``t`` for the 1m candle opening at ``t``."""
    return PredictionRecord(
        prediction_id=pid,
        session_id="s1",
        model="cnn",
        model_version="v1",
        symbol="ETH/USDT",
        timeframe="1m",
        frame_id="f" + pid,
        decision_time=t,
        target_open_time=t,
        target_time=t + 60_000,
        expires_at=t + 180_000,
        ref_close=100.0,
        pred_open=100.0,
        pred_high=101.0,
        pred_low=99.0,
        pred_close=100.5,
        pred_volume=10.0,
        action="BUY",
        p_hold=0.2,
        p_buy=0.7,
        p_sell=0.1,
        confidence=0.7,
        created_at=t,
    )

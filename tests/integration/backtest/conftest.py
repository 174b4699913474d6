"""What the paper-trading tests share: a moving-average model on BTC/USDT 1m, live and backtest."""

from __future__ import annotations

from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestResult, BacktestService
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.store.db import Database

SYMBOL = "BTC/USDT"
M = 60_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
SETTINGS = {"timeframes": ["1m"], "windows": {"1m": 12}}
BROKER = BrokerConfig(fee_bps=7.0, slippage_bps=1.5, position_fraction=0.7)


def live_session(
    db: Database,
    session_id: str,
    clock: ReplayClock,
    bus: MessageBus,
    *,
    baselines: tuple[str, ...] = (),
    predict_until: int | None = None,
) -> LoopSession:
    """Start a live session of the moving-average model on ``SYMBOL`` 1m."""
    config = SessionConfig(
        session_id=session_id,
        model="moving_average",
        model_config={**SETTINGS, "seed": 0},
        symbols=(SYMBOL,),
        timeframes=("1m",),
        baselines=baselines,
    )
    session = LoopSession(db, config, bus, clock, kind="live")
    session.predict_until = predict_until
    session.start()
    return session


def backtest(db: Database, start: int, end: int, broker: BrokerConfig) -> BacktestResult:
    """Backtest the same model on ``SYMBOL`` 1m over closes in ``(start, end]``."""
    req = BacktestRequest(
        model="moving_average",
        symbol=SYMBOL,
        timeframe="1m",
        start=start,
        end=end,
        model_config=SETTINGS,
        broker=broker,
    )
    return BacktestService(db).run(req)

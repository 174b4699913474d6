"""A simulated broker attached to a loop session: the session's own model trades through it.

It subscribes to the closed candles of the traded timeframe *after* the session (the bus
delivers in subscription order), so for every close it first hands the candle to the broker
(filling the order decided at the previous close at this candle's open) and then reads the
prediction the session's learning model just made at this close, and acts on it. The same
object follows a replay (backtest) and a live session (paper trading): only the bus and the
clock differ.
"""

from __future__ import annotations

from collections.abc import Callable

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker import Broker
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.events import CandleCompletionEvent, candle_topic
from ghostcandle.engine.predictor import prediction_id
from ghostcandle.engine.session import LoopSession
from ghostcandle.messaging.bus import Subscription
from ghostcandle.store.predictions import PredictionRecord

OnUpdate = Callable[[Candle, PredictionRecord | None], None]


class SessionBroker:
    """Trade a started session's model predictions of ``timeframe`` through ``broker``."""

    def __init__(
        self,
        session: LoopSession,
        broker: Broker,
        timeframe: str,
        *,
        on_update: OnUpdate | None = None,
    ) -> None:
        if not session.predictors:
            raise RuntimeError("start() the session before attaching a broker to it")
        if timeframe not in session.timeframes:
            raise ValueError(
                f"session {session.config.session_id} does not predict {timeframe}: "
                f"trade one of {', '.join(session.timeframes)}"
            )
        self.session = session
        self.broker = broker
        self.timeframe = timeframe
        self.on_update = on_update
        self.model_name = session.predictors[0].name
        self.signals = 0
        self._subs: list[Subscription] = [
            session.bus.subscribe(
                candle_topic(symbol, timeframe), self.on_candle, name=f"broker:{symbol}"
            )
            for symbol in session.config.symbols
        ]

    def on_candle(self, event: CandleCompletionEvent) -> None:
        """Hand the candle to the broker, then act on the model's prediction at its close."""
        candle = event.candle
        last = self.broker.last_candle(candle.symbol)
        if last is not None and candle.open_time <= last.open_time:
            return  # a duplicated or replayed event: the broker has seen this candle
        self.broker.on_candle(candle)
        record = self._prediction(candle)
        if record is not None:
            self.broker.on_signal(
                candle.symbol, record.decision_time, Action[record.action], record.confidence
            )
            self.signals += 1
        if self.on_update is not None:
            self.on_update(candle, record)

    def _prediction(self, candle: Candle) -> PredictionRecord | None:
        pid = prediction_id(
            self.session.config.session_id,
            self.model_name,
            candle.symbol,
            self.timeframe,
            candle.close_time,
        )
        for r in self.session.resolver.pending():
            if r.prediction_id == pid:
                return r
        return None

    def close(self) -> None:
        """Stop following the session."""
        for sub in self._subs:
            sub.cancel()
        self._subs = []

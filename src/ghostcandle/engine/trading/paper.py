"""Paper trading, and the simulated broker attached to a loop session that it (and backtests) use.

It subscribes to the closed candles of the traded timeframe *after* the session (the bus
delivers in subscription order), so for every close it first hands the candle to the broker
(filling the order decided at the previous close at this candle's open) and then reads the
prediction the session's learning model just made at this close, and acts on it. The same
object follows a replay (backtest) and a live session (paper trading): only the bus and the
clock differ.

Paper trading has its own defaults (``paper_config``), chosen against the churn of a model
whose advice flips from one candle to the next (the first demo lost 16.8% in 17 minutes, 90
trades, none won, on 1s candles):

- HOLD means flat (the broker's default): an account is in the market only while the model
  asks for a side.
- ``min_confidence`` 0.4: an action counts only when the model favours it clearly above the
  1/3 of a model with no opinion; anything less counts as HOLD (flat). Not 0.5: a fresh model's
  confidences on the live feed are mostly 0.35-0.5, so 0.5 would keep an untrained session out
  of the market for good, and the cooldown below is what bounds the churn.
- a cooldown of ``PAPER_MIN_HOLD_MS`` (10 minutes) in candles of the traded timeframe (600 at
  1s, 10 at 1m, 1 at 1h): on real ETH/USDT 1m data (2024-07/08) the mean absolute move over 10
  minutes is 0.22%, about the 0.2% round-trip cost; a position changed more often cannot, on
  average, earn its fees back.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker import Broker, BrokerConfig, BrokerState
from ghostcandle.domain.candles import Candle, candles_from_frame
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.events import CandleCompletionEvent, candle_topic
from ghostcandle.domain.timeframes import MINUTE_MS, duration_ms
from ghostcandle.engine.loop.predictor import prediction_id
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.messaging.bus import Subscription
from ghostcandle.store.paper import PaperAccount, PaperStore
from ghostcandle.store.predictions import PredictionRecord

OnUpdate = Callable[[Candle, PredictionRecord | None], None]

#: Paper trading acts only on actions given clearly more than a third of the probability.
PAPER_MIN_CONFIDENCE = 0.4
#: Paper trading changes a position at most once in this long (see the module doc).
PAPER_MIN_HOLD_MS = 10 * MINUTE_MS


def paper_config(timeframe: str, **overrides: Any) -> BrokerConfig:
    """Return paper trading's broker settings for signals of ``timeframe`` (see the module doc).

    >>> paper_config("1s").cooldown, paper_config("1m").cooldown, paper_config("1h").cooldown
    (600, 10, 1)
    """
    cooldown = max(1, math.ceil(PAPER_MIN_HOLD_MS / duration_ms(timeframe)))
    settings: dict[str, Any] = {
        "min_confidence": PAPER_MIN_CONFIDENCE,
        "cooldown": cooldown,
        "close_at_end": False,
        **overrides,
    }
    return BrokerConfig(**settings)


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
        for p in session.predictors:  # an agent reads what this account holds
            p.position_of = self._held
        self.signals = 0
        # a reset from another thread swaps the broker between two candles, never during one
        self.lock = threading.Lock()
        self._subs: list[Subscription] = [
            session.bus.subscribe(
                candle_topic(symbol, timeframe), self.on_candle, name=f"broker:{symbol}"
            )
            for symbol in session.config.symbols
        ]

    def _held(self, symbol: str) -> int:
        return self.broker.held(symbol)  # the broker of now: a reset swaps it

    def on_candle(self, event: CandleCompletionEvent) -> None:
        """Hand the candle to the broker, then act on the model's prediction at its close."""
        with self.lock:
            self._on_candle(event)

    def _on_candle(self, event: CandleCompletionEvent) -> None:
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
        """Stop following the session (its agent is flat again for whoever asks next)."""
        for sub in self._subs:
            sub.cancel()
        self._subs = []
        for p in self.session.predictors:
            if p.position_of == self._held:
                p.position_of = None


class PaperTrader:
    """Paper trading: a live session's signals through the simulated broker, persisted.

    The account survives restarts: a trader attached again to the same session id carries on
    from the stored cash, positions and waiting orders. Positions are never closed by the
    trader itself (a live session has no end); ``summary()`` is what the live panel shows.
    Without ``config`` a new account gets ``paper_config(timeframe)``; a stored account keeps
    its own settings (one missing from it, stored before it existed, takes today's default).
    """

    def __init__(
        self,
        session: LoopSession,
        store: PaperStore,
        *,
        timeframe: str | None = None,
        config: BrokerConfig | None = None,
    ) -> None:
        self.session = session
        self.store = store
        self.session_id = session.config.session_id
        account = store.load(self.session_id)
        now = session.clock.now_ms()
        if account is None:
            tf = timeframe or session.timeframes[0]
            cfg = replace(config or paper_config(tf), close_at_end=False)
            store.create(self.session_id, tf, cfg.to_json(), cfg.initial_equity, now)
            broker = Broker(cfg)
            self._saved_trades = 0
        else:
            # the stored account's settings win: one account, one set of rules
            tf = account.timeframe
            cfg = stored_config(account.config, tf)
            broker = Broker(cfg)
            broker.restore(account.state, self._last_candles(account, tf))
            self._saved_trades = account.trades
        self.broker = broker
        self.config = cfg
        self.timeframe = tf
        self.follower = SessionBroker(session, broker, tf, on_update=self._persist)

    def _last_candles(self, account: PaperAccount, timeframe: str) -> dict[str, Candle]:
        if account.last_time is None:
            return {}
        out = {}
        for symbol in self.session.config.symbols:
            open_time = account.last_time - duration_ms(timeframe)
            df = self.session.candles.read(symbol, timeframe, open_time, open_time)
            for c in candles_from_frame(symbol, timeframe, df):
                out[symbol] = c
        return out

    def _persist(self, candle: Candle, record: PredictionRecord | None) -> None:
        b = self.broker
        new = list(b.trades)
        point = b.equity_curve[-1] if b.equity_curve else None
        prices = {s: c.close for s in b.positions if (c := b.last_candle(s)) is not None}
        self.store.save(
            self.session_id,
            b.state(),
            equity=b.equity(),
            last_time=candle.close_time,
            last_prices=prices,
            new_trades=new,
            first_seq=self._saved_trades,
            point=point,
            now=self.session.clock.now_ms(),
        )
        self._saved_trades += len(new)
        # a live session runs for weeks: keep in memory only what the next candle needs (the
        # trades and the curve are in the store)
        b.trades.clear()
        if len(b.equity_curve) > 1:
            del b.equity_curve[:-1]

    def summary(self) -> dict[str, Any] | None:
        """Return equity, PnL, win rate, open positions and recent trades for the live panel."""
        return self.store.summary(self.session_id)

    def reset(self) -> None:
        """Start the account again at its initial equity; trading carries on with the next candle.

        Open positions and waiting orders are dropped (not closed: no fill, no fee), the stored
        trades and equity points deleted; the account's settings stay.
        """
        with self.follower.lock:
            self.store.reset(self.session_id, self.session.clock.now_ms())
            last = {s: c for s in self.session.config.symbols if (c := self.broker.last_candle(s))}
            broker = Broker(self.config)
            broker.restore(BrokerState(self.config.initial_equity, (), (), 0), last)
            self.broker = self.follower.broker = broker
            self._saved_trades = 0

    def change_settings(self, changes: Mapping[str, Any]) -> None:
        """Change the account's minimum confidence and/or cooldown; they rule from the next
        signal on (a position held stays held, an order waiting stays waiting)."""
        with self.follower.lock:
            cfg = _changed(self.config, changes)
            self.store.update_config(self.session_id, cfg.to_json(), self.session.clock.now_ms())
            self.config = self.broker.config = cfg

    def close(self) -> None:
        """Stop following the session (the account stays stored)."""
        self.follower.close()


def stored_config(stored: Mapping[str, Any], timeframe: str) -> BrokerConfig:
    """Return the settings of a stored account, today's paper defaults filling missing ones."""
    known = paper_config(timeframe).to_json()
    return BrokerConfig(**{**known, **stored, "close_at_end": False})


def reset_account(
    store: PaperStore, trader: PaperTrader | None, session_id: str, now: int
) -> dict[str, Any]:
    """Reset the paper account of ``session_id`` (through its running ``trader`` if given).

    Return the account's summary; raise ``DataMissingError`` if the session has no account.
    """
    if store.load(session_id) is not None:
        if trader is not None and trader.session_id == session_id:
            trader.reset()
        else:
            store.reset(session_id, now)
    summary = store.summary(session_id)
    if summary is None:
        raise DataMissingError(
            f"session {session_id!r} has no paper account: give the id of a live session "
            "that traded on paper"
        )
    return summary


#: The settings of an account the trader may change while it trades.
PAPER_SETTINGS: tuple[str, ...] = ("min_confidence", "cooldown")


def _changed(config: BrokerConfig, changes: Mapping[str, Any]) -> BrokerConfig:
    """Return ``config`` with ``changes`` (checked: confidence in [0, 1], cooldown >= 0)."""
    unknown = sorted(set(changes) - set(PAPER_SETTINGS))
    if unknown:
        raise UserInputError(
            f"{', '.join(unknown)} cannot be changed on a paper account: change "
            f"{' or '.join(PAPER_SETTINGS)}"
        )
    if not changes:
        raise UserInputError(f"nothing to change: give {' and/or '.join(PAPER_SETTINGS)}")
    return replace(config, **changes)  # BrokerConfig checks each value, in one line


def change_settings(
    store: PaperStore,
    trader: PaperTrader | None,
    session_id: str,
    changes: Mapping[str, Any],
    now: int,
) -> dict[str, Any]:
    """Change the minimum confidence and/or cooldown (in candles of the account's timeframe)
    of the paper account of ``session_id``, through its running ``trader`` if given.

    Return the account's summary; raise ``DataMissingError`` if the session has no account,
    ``UserInputError`` (changing nothing) for a value out of range.
    """
    if trader is not None and trader.session_id == session_id:
        trader.change_settings(changes)
    else:
        account = store.load(session_id)
        if account is None:
            raise DataMissingError(
                f"session {session_id!r} has no paper account: give the id of a live session "
                "that traded on paper"
            )
        cfg = _changed(stored_config(account.config, account.timeframe), changes)
        store.update_config(session_id, cfg.to_json(), now)
    summary = store.summary(session_id)
    assert summary is not None  # the account exists (checked or followed above)
    return summary

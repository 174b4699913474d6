"""A simulated broker: market orders from model actions, fees, slippage, one position per symbol.

The broker sees the market only through the candles it is given, in time order, and the
signals (actions) decided at a candle's close. With ``fill="next_open"`` (the default) an order
decided at ``t`` is filled at the open of the next candle of that symbol (the candle opening at
``t`` when there is no gap), which is only learnt when that candle is handed over: the broker
cannot trade on a price it has not seen. With ``fill="close"`` it is filled at once at the close
of the candle the decision was made on.

Actions are targets, not increments: BUY means "be long", SELL "be short" (or flat when
shorting is not allowed), HOLD "be flat" (``hold="flat"``, the default: a model that sees no
move worth its costs stays out of the market) or "keep what you have" (``hold="keep"``); an
action below ``min_confidence`` counts as HOLD. Turning from long to short closes the trade and
opens the opposite one at the same fill. With ``cooldown`` N > 0 a position change (entering,
leaving or turning) is refused until N candles of the symbol have passed since the last one, so
a signal that flips every candle cannot pay the round-trip cost every candle. A position is
sized at ``position_fraction`` of the equity at the fill; fees are
``fee_bps`` of the traded notional on every fill, and slippage moves every fill price
``slippage_bps`` against the trader.

Accounting is cash based: equity = cash + sum(quantity x last close), quantity negative when
short; a trade's PnL is ``sign x quantity x (exit - entry) - fees``, so the PnL of all trades adds
up to the change in equity once every position is closed.

>>> from ghostcandle.domain.candles import Candle
>>> b = Broker(BrokerConfig(fee_bps=0.0))
>>> b.on_candle(Candle("X", "1m", 0, 100.0, 101.0, 99.0, 100.0, 1.0))
>>> b.on_signal("X", 60_000, Action.BUY)
>>> b.on_candle(Candle("X", "1m", 60_000, 100.0, 111.0, 99.0, 110.0, 1.0))
>>> b.on_signal("X", 120_000, Action.SELL)
>>> b.on_candle(Candle("X", "1m", 120_000, 110.0, 111.0, 99.0, 100.0, 1.0))
>>> [(t.side, t.entry_price, t.exit_price, round(t.pnl, 6)) for t in b.trades]
[('LONG', 100.0, 110.0, 1000.0)]
>>> b.on_signal("X", 180_000, Action.HOLD)  # HOLD means flat: the short is closed
>>> b.on_candle(Candle("X", "1m", 180_000, 100.0, 101.0, 89.0, 90.0, 1.0))
>>> b.positions, round(b.trades[-1].pnl, 6)
({}, 1000.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker_config import (
    DEFAULT_EQUITY,
    DEFAULT_FEE_BPS,
    DEFAULT_SLIPPAGE_BPS,
    FILLS,
    HOLDS,
    BrokerConfig,
    Fill,
    Hold,
)
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.timeframes import duration_ms

__all__ = [
    "DEFAULT_EQUITY",
    "DEFAULT_FEE_BPS",
    "DEFAULT_SLIPPAGE_BPS",
    "FILLS",
    "HOLDS",
    "Broker",
    "BrokerConfig",
    "BrokerState",
    "EquityPoint",
    "Fill",
    "Hold",
    "Order",
    "Position",
    "Side",
    "Trade",
]

Side = Literal["LONG", "SHORT"]


@dataclass(frozen=True, slots=True)
class Trade:
    """A closed round trip. Times are fill times; ``fees`` is entry plus exit fee."""

    symbol: str
    side: Side
    size: float
    entry_time: int
    entry_price: float
    exit_time: int
    exit_price: float
    entry_fee: float
    exit_fee: float
    pnl: float
    exit_reason: str

    @property
    def fees(self) -> float:
        """Return the fees paid on both fills."""
        return self.entry_fee + self.exit_fee

    @property
    def return_pct(self) -> float:
        """Return the PnL in percent of the entry notional."""
        return self.pnl / (self.size * self.entry_price) * 100.0


@dataclass(frozen=True, slots=True)
class Position:
    """An open position (``size`` > 0; the side says which way)."""

    symbol: str
    side: Side
    size: float
    entry_time: int
    entry_price: float
    entry_fee: float

    @property
    def quantity(self) -> float:
        """Return the signed quantity: positive long, negative short."""
        return self.size if self.side == "LONG" else -self.size

    def unrealised(self, price: float) -> float:
        """Return the PnL if closed at ``price`` without exit costs, entry fee included."""
        return self.quantity * (price - self.entry_price) - self.entry_fee


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """Equity marked at a candle close, and whether a position was held during that candle."""

    time: int
    equity: float
    exposed: bool


@dataclass(frozen=True, slots=True)
class Order:
    """An order waiting for the next open: the position wanted (+1, -1, 0) and when decided."""

    symbol: str
    target: int
    decided_at: int


@dataclass(frozen=True)
class BrokerState:
    """What a broker needs to carry on after a restart (trades and curve are kept apart).

    ``changed`` holds, per symbol, the time of its last position change (for ``cooldown``).
    """

    cash: float
    positions: tuple[Position, ...]
    orders: tuple[Order, ...]
    fills: int
    changed: tuple[tuple[str, int], ...] = ()


class Broker:
    """Fill orders from actions against the candles handed over, and keep trades and equity."""

    def __init__(self, config: BrokerConfig | None = None) -> None:
        self.config = config or BrokerConfig()
        self.cash = self.config.initial_equity
        self.positions: dict[str, Position] = {}
        self.trades: list[Trade] = []
        self.equity_curve: list[EquityPoint] = []
        self.fills = 0
        self._last: dict[str, Candle] = {}
        self._prev_close: dict[str, float] = {}
        # close times of the newest candles, kept apart: a Candle computes its close each time
        self._last_close: dict[str, int] = {}
        self._pending: dict[str, Order] = {}
        # fill time of the last position change per symbol: the cooldown counts from it
        self._changed: dict[str, int] = {}
        self._fee = self.config.fee_bps / 10_000.0
        self._slip = self.config.slippage_bps / 10_000.0

    # -- market data --------------------------------------------------------------------------
    def on_candle(self, candle: Candle) -> None:
        """Take a closed candle: fill the symbol's pending order at its open, mark equity."""
        last = self._last.get(candle.symbol)
        if last is not None and candle.open_time <= last.open_time:
            raise ValueError(
                f"candle {candle.symbol} {candle.open_time} is not after {last.open_time}: "
                "hand candles to the broker in time order, once each"
            )
        order = self._pending.pop(candle.symbol, None)
        if order is not None:
            self._execute(order, candle.open, candle.open_time, "signal")
        if last is not None:
            self._prev_close[candle.symbol] = last.close
        self._last[candle.symbol] = candle
        close = candle.close_time
        self._last_close[candle.symbol] = close
        self._mark(close, candle=True)

    def on_signal(self, symbol: str, time: int, action: Action, confidence: float = 1.0) -> None:
        """Act on a model's action decided at ``time`` (a candle close of ``symbol``)."""
        last_close = self._last_close.get(symbol)
        if last_close is not None and time < last_close:
            raise ValueError(
                f"signal at {time} comes before the close {last_close} already handled: "
                "hand signals to the broker in time order"
            )
        if action == Action.HOLD or confidence < self.config.min_confidence:
            if self.config.hold == "keep":
                return
            target = 0
        else:
            target = 1 if action == Action.BUY else -1
        self.order_target(symbol, time, target)

    def order_target(self, symbol: str, time: int, target: int) -> None:
        """Order the position of ``symbol`` to +1 (long), -1 (short) or 0 (flat) at ``time``.

        A short target counts as flat when shorting is not allowed.
        """
        if target not in (-1, 0, 1):
            raise ValueError(f"target {target} is not a position: use 1, -1 or 0")
        last = self._last.get(symbol)
        last_close = self._last_close.get(symbol)
        if last_close is not None and time < last_close:
            raise ValueError(
                f"order at {time} comes before the close {last_close} already handled: "
                "hand orders to the broker in time order"
            )
        if target < 0 and not self.config.allow_short:
            target = 0
        if self._cooling(symbol, time, target):
            return
        order = Order(symbol, target, time)
        if self.config.fill == "close":
            if last is None:
                raise ValueError(
                    f"no candle of {symbol} seen yet: a close fill needs the decision candle"
                )
            self._execute(order, last.close, time, "signal")
            self._mark(time)
        else:
            self._pending[symbol] = order

    def _cooling(self, symbol: str, time: int, target: int) -> bool:
        """Tell whether an order for ``target`` at ``time`` would change the position too soon.

        The fill of an order decided at ``time`` happens at ``time`` (the next open, or this
        close): it must come at least ``cooldown`` candle durations after the last change.
        """
        n = self.config.cooldown
        since = self._changed.get(symbol)
        last = self._last.get(symbol)
        if n <= 0 or since is None or last is None:
            return False
        pending = self._pending.get(symbol)
        pos = self.positions.get(symbol)
        current = 0 if pos is None else (1 if pos.side == "LONG" else -1)
        wanted = current if pending is None else pending.target
        if target == wanted:
            return False
        return time - since < n * duration_ms(last.timeframe)

    def finish(self) -> None:
        """Drop unfilled orders; with ``close_at_end``, close every position at its last close."""
        self._pending.clear()
        if not self.config.close_at_end:
            return
        for symbol in sorted(self.positions):
            last = self._last[symbol]
            self._close(symbol, last.close, last.close_time, "end")
        if self.equity_curve:
            self._mark(self.equity_curve[-1].time)

    # -- state --------------------------------------------------------------------------------
    def equity(self, at: int | None = None) -> float:
        """Return cash plus every open position marked at the last close known at ``at``.

        ``at`` defaults to now (every candle handed over counts).
        """
        if not self.positions:
            return self.cash + 0  # the bits of ``cash + sum(())``, without the generator
        return self.cash + sum(
            p.quantity * self._price(s, p, at) for s, p in self.positions.items()
        )

    def _price(self, symbol: str, pos: Position, at: int | None) -> float:
        last = self._last.get(symbol)
        if last is None:
            return pos.entry_price
        if at is None or self._last_close[symbol] <= at:
            return last.close
        # another symbol's candle of the same close was handed over first: its close is not
        # known yet at this fill, so size on the close before it
        return self._prev_close.get(symbol, pos.entry_price)

    def state(self) -> BrokerState:
        """Return the account (cash, open positions, waiting orders, fill count)."""
        return BrokerState(
            cash=self.cash,
            positions=tuple(self.positions[s] for s in sorted(self.positions)),
            orders=tuple(self._pending[s] for s in sorted(self._pending)),
            fills=self.fills,
            changed=tuple(sorted(self._changed.items())),
        )

    def restore(self, state: BrokerState, last: Mapping[str, Candle]) -> None:
        """Carry on from ``state``, the newest candle handed over per symbol being ``last``."""
        if self.trades or self.equity_curve or self._last:
            raise ValueError("restore() a fresh broker only: this one has already traded")
        self.cash = state.cash
        self.positions = {p.symbol: p for p in state.positions}
        self._pending = {o.symbol: o for o in state.orders}
        self.fills = state.fills
        self._changed = dict(state.changed)
        self._last = dict(last)
        self._last_close = {s: c.close_time for s, c in last.items()}

    def last_candle(self, symbol: str) -> Candle | None:
        """Return the newest candle of ``symbol`` handed over, if any."""
        return self._last.get(symbol)

    def held(self, symbol: str) -> int:
        """Return the side held in ``symbol`` once the waiting order fills (-1, 0, 1).

        Between a candle's close and the broker seeing the next candle, an order placed at that
        close is still waiting: what the account holds going into the next decision is its
        target.
        """
        waiting = self.pending(symbol)
        if waiting is not None:
            return waiting
        pos = self.positions.get(symbol)
        return 0 if pos is None else (1 if pos.side == "LONG" else -1)

    def pending(self, symbol: str) -> int | None:
        """Return the target (+1, -1, 0) of the order waiting for the next open, if any."""
        order = self._pending.get(symbol)
        return None if order is None else order.target

    # -- fills --------------------------------------------------------------------------------
    def _execute(self, order: Order, price: float, time: int, reason: str) -> None:
        pos = self.positions.get(order.symbol)
        current = 0 if pos is None else (1 if pos.side == "LONG" else -1)
        if current == order.target:
            return
        if pos is not None:
            self._close(order.symbol, price, time, reason)
        if order.target != 0:
            self._open(order.symbol, order.target, price, time)
        self._changed[order.symbol] = time

    def _fill_price(self, price: float, buying: bool) -> float:
        return price * (1.0 + self._slip) if buying else price * (1.0 - self._slip)

    def _open(self, symbol: str, direction: int, price: float, time: int) -> None:
        equity = self.equity(time)
        if equity <= 0:
            return  # nothing left to trade with: the account is blown
        fill = self._fill_price(price, buying=direction > 0)
        size = self.config.position_fraction * equity / fill
        fee = size * fill * self._fee
        side: Side = "LONG" if direction > 0 else "SHORT"
        pos = Position(symbol, side, size, time, fill, fee)
        self.cash -= pos.quantity * fill + fee
        self.positions[symbol] = pos
        self.fills += 1

    def _close(self, symbol: str, price: float, time: int, reason: str) -> None:
        pos = self.positions.pop(symbol)
        fill = self._fill_price(price, buying=pos.side == "SHORT")
        fee = pos.size * fill * self._fee
        self.cash += pos.quantity * fill - fee
        pnl = pos.quantity * (fill - pos.entry_price) - pos.entry_fee - fee
        self.trades.append(
            Trade(
                symbol=symbol,
                side=pos.side,
                size=pos.size,
                entry_time=pos.entry_time,
                entry_price=pos.entry_price,
                exit_time=time,
                exit_price=fill,
                entry_fee=pos.entry_fee,
                exit_fee=fee,
                pnl=pnl,
                exit_reason=reason,
            )
        )
        self.fills += 1

    def _mark(self, time: int, *, candle: bool = False) -> None:
        # exposure is "held during the candle": after the fill at its open, before any fill at
        # its close (a position opened at the close is held from the next candle on)
        exposed = bool(self.positions)
        if self.equity_curve and self.equity_curve[-1].time == time:
            # several symbols closing together, or a fill at the close: one point per time
            prev = self.equity_curve[-1]
            held = prev.exposed or exposed if candle else prev.exposed
            self.equity_curve[-1] = EquityPoint(time, self.equity(), held)
        else:
            self.equity_curve.append(EquityPoint(time, self.equity(), exposed))

"""Performance figures of a trade list and an equity curve, buy-and-hold, and backtest results.

Conventions: ``win_rate`` is the share of trades with a positive PnL (0 with no trades);
``max_drawdown_pct`` is the largest fall from a running peak, in percent of that peak, counting
the initial equity as the first peak; ``sharpe`` is the mean over the standard deviation
(``ddof=1``) of the per-candle equity returns, annualised with the number of candles in a year
(markets that trade around the clock), 0 when it is undefined; ``profit_factor`` is gross
profit over gross loss, ``None`` when no trade lost; ``exposure_pct`` is the share of candles
during which a position was held.

>>> from ghostcandle.domain.broker import EquityPoint
>>> curve = [EquityPoint(1, 110.0, True), EquityPoint(2, 99.0, True), EquityPoint(3, 120.0, False)]
>>> p = summarise([], curve, 100.0, periods_per_year("1d"))
>>> round(p.max_drawdown_pct, 6), round(p.return_pct, 6), round(p.exposure_pct, 4)
(10.0, 20.0, 66.6667)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ghostcandle.domain.actions import Action
from ghostcandle.domain.broker import Broker, BrokerConfig, EquityPoint, Trade
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.timeframes import DAY_MS, duration_ms

YEAR_MS = 365 * DAY_MS


def periods_per_year(timeframe: str) -> float:
    """Return how many candles of ``timeframe`` a year of round-the-clock trading holds.

    >>> periods_per_year("1d"), periods_per_year("1h")
    (365.0, 8760.0)
    """
    return YEAR_MS / duration_ms(timeframe)


@dataclass(frozen=True, slots=True)
class Performance:
    """The figures of one strategy over one range."""

    trades: int
    win_rate: float
    pnl: float
    return_pct: float
    max_drawdown_pct: float
    sharpe: float
    profit_factor: float | None
    exposure_pct: float
    final_equity: float
    fees: float

    def to_json(self) -> dict[str, Any]:
        """Return the figures as a JSON-ready dict."""
        return asdict(self)


def max_drawdown_pct(initial_equity: float, equities: Iterable[float]) -> float:
    """Return the largest fall from a running peak, in percent of the peak (>= 0)."""
    peak = initial_equity
    worst = 0.0
    for e in equities:
        if e > peak:
            peak = e
        elif peak > 0:
            worst = max(worst, (peak - e) / peak)
    return worst * 100.0


def sharpe_ratio(initial_equity: float, equities: Sequence[float], per_year: float) -> float:
    """Return the annualised Sharpe ratio of the per-candle returns (0 when undefined)."""
    prev = initial_equity
    returns: list[float] = []
    for e in equities:
        returns.append(e / prev - 1.0 if prev != 0 else 0.0)
        prev = e
    n = len(returns)
    if n < 2:
        return 0.0
    mean = math.fsum(returns) / n
    var = math.fsum((r - mean) ** 2 for r in returns) / (n - 1)
    if not var > 0:
        return 0.0
    return mean / math.sqrt(var) * math.sqrt(per_year)


def summarise(
    trades: Sequence[Trade],
    curve: Sequence[EquityPoint],
    initial_equity: float,
    per_year: float,
) -> Performance:
    """Return the figures of ``trades`` and ``curve`` (one point per candle, in time order)."""
    equities = [p.equity for p in curve]
    return performance_of(
        trades,
        initial_equity,
        final=equities[-1] if equities else initial_equity,
        drawdown_pct=max_drawdown_pct(initial_equity, equities),
        sharpe=sharpe_ratio(initial_equity, equities, per_year),
        exposure_pct=100.0 * sum(p.exposed for p in curve) / len(curve) if curve else 0.0,
    )


def performance_of(
    trades: Sequence[Trade],
    initial_equity: float,
    *,
    final: float,
    drawdown_pct: float,
    sharpe: float,
    exposure_pct: float,
) -> Performance:
    """Return the figures of ``trades`` beside those of their equity curve (given)."""
    wins = [t.pnl for t in trades if t.pnl > 0]
    losses = [-t.pnl for t in trades if t.pnl < 0]
    gross_loss = math.fsum(losses)
    return Performance(
        trades=len(trades),
        win_rate=len(wins) / len(trades) if trades else 0.0,
        pnl=final - initial_equity,
        return_pct=(final / initial_equity - 1.0) * 100.0,
        max_drawdown_pct=drawdown_pct,
        sharpe=sharpe,
        profit_factor=math.fsum(wins) / gross_loss if gross_loss > 0 else None,
        exposure_pct=exposure_pct,
        final_equity=final,
        fees=math.fsum(t.fees for t in trades),
    )


def buy_and_hold(
    candles: Iterable[Candle], config: BrokerConfig
) -> tuple[list[Trade], list[EquityPoint]]:
    """Buy at the first candle's open and sell at the last close, through the same broker.

    The broker's fees, slippage, sizing and initial equity apply; its fill rule does not (the
    benchmark is in the market from the first candle to the last). ``candles`` are taken once,
    in order (an iterator will do).
    """
    broker = Broker(holding(config))
    hold(broker, candles)
    return broker.trades, broker.equity_curve


def holding(config: BrokerConfig) -> BrokerConfig:
    """Return ``config`` as the buy-and-hold benchmark trades it (in from the first open)."""
    return replace(config, fill="next_open", min_confidence=0.0, close_at_end=True)


def hold(broker: Broker, candles: Iterable[Candle]) -> None:
    """Walk ``broker`` (set up with ``holding``) through ``candles``: bought, held, closed."""
    them = iter(candles)
    first = next(them, None)
    if first is not None:
        # decided before the first candle, so it fills at that candle's open
        broker.on_signal(first.symbol, first.open_time, Action.BUY)
        broker.on_candle(first)
        for c in them:
            broker.on_candle(c)
        broker.finish()


@dataclass(frozen=True)
class BacktestResult:
    """Trades, equity curve and figures of a strategy, with buy-and-hold beside it."""

    strategy: str
    symbol: str
    timeframe: str
    start: int
    end: int
    engine: str
    candles: int
    signals: int
    trades: tuple[Trade, ...]
    equity_curve: tuple[EquityPoint, ...]
    performance: Performance
    buy_and_hold: Performance
    buy_and_hold_curve: tuple[EquityPoint, ...]
    elapsed_s: float
    session_id: str | None = None
    request: Mapping[str, Any] = field(default_factory=dict)

    @property
    def candles_per_s(self) -> float:
        """Return the throughput of the run."""
        return self.candles / self.elapsed_s if self.elapsed_s > 0 else float("inf")

    def to_json(self, *, curves: bool = True) -> dict[str, Any]:
        """Return the result as plain JSON values (figures at the top level, as the CLI prints)."""
        out: dict[str, Any] = {
            "strategy": self.strategy,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "start": self.start,
            "end": self.end,
            "engine": self.engine,
            "session_id": self.session_id,
            "candles": self.candles,
            "signals": self.signals,
            **self.performance.to_json(),
            "buy_and_hold": self.buy_and_hold.to_json(),
            "elapsed_s": round(self.elapsed_s, 3),
            "candles_per_s": round(self.candles_per_s, 1) if self.elapsed_s > 0 else None,
            "request": dict(self.request),
            "trade_list": [trade_json(t) for t in self.trades],
        }
        if curves:
            out["equity_curve"] = [[p.time, p.equity] for p in self.equity_curve]
            out["buy_and_hold_curve"] = [[p.time, p.equity] for p in self.buy_and_hold_curve]
        return out


def trade_json(t: Trade) -> dict[str, Any]:
    """Return one trade as plain JSON values."""
    return {
        "symbol": t.symbol,
        "side": t.side,
        "size": t.size,
        "entry_time": t.entry_time,
        "entry_price": t.entry_price,
        "exit_time": t.exit_time,
        "exit_price": t.exit_price,
        "fees": t.fees,
        "pnl": t.pnl,
        "return_pct": t.return_pct,
        "exit_reason": t.exit_reason,
    }


def result_of(
    strategy: str,
    symbol: str,
    timeframe: str,
    start: int,
    end: int,
    engine: str,
    candles: list[Candle],
    signals: int,
    broker: Broker,
    elapsed: float,
    *,
    session_id: str | None = None,
    request: Mapping[str, Any] | None = None,
) -> BacktestResult:
    """Assemble a result from a finished broker: figures, and buy-and-hold on the same candles."""
    cfg = broker.config
    per_year = periods_per_year(timeframe)
    bh_trades, bh_curve = buy_and_hold(candles, cfg)
    return BacktestResult(
        strategy=strategy,
        symbol=symbol,
        timeframe=timeframe,
        start=start,
        end=end,
        engine=engine,
        candles=len(candles),
        signals=signals,
        trades=tuple(broker.trades),
        equity_curve=tuple(broker.equity_curve),
        performance=summarise(broker.trades, broker.equity_curve, cfg.initial_equity, per_year),
        buy_and_hold=summarise(bh_trades, bh_curve, cfg.initial_equity, per_year),
        buy_and_hold_curve=tuple(bh_curve),
        elapsed_s=elapsed,
        session_id=session_id,
        request=dict(request or {}),
    )

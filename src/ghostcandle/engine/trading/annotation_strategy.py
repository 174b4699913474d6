"""The trader's annotations as a strategy: their trades through the same broker and fees.

An annotation enters at the close of its entry candle and leaves at the close of its exit
candle (``store.annotations``). Here each becomes two orders decided at those closes: the
annotated side (long or short) at entry, flat at exit, filled by the broker exactly as a
model's actions would be (by default at the next candle's open, with the same fees, slippage
and sizing), so the figures compare with a model's backtest of the same range. Annotations
overlapping in time share the one position of the symbol: a later entry takes it over.
"""

from __future__ import annotations

import time
from collections import defaultdict

from ghostcandle.domain.broker import Broker, BrokerConfig
from ghostcandle.domain.clock import LiveClock
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.timeframes import format_time
from ghostcandle.engine.trading.backtest import BacktestResult, result_of, traded_candles
from ghostcandle.store.annotations import Annotation, AnnotationStore
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database


def annotation_orders(annotations: list[Annotation], start: int, end: int) -> dict[int, list[int]]:
    """Return the position targets decided at each close, in order (+1, -1, 0 = flat).

    Only annotations entered at a close in ``(start, end]`` count; an exit after ``end`` is left
    to the end of the backtest. At one close, exits come before entries.
    """
    orders: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for a in annotations:
        if not start < a.decision_time <= end:
            continue
        orders[a.decision_time].append((1, 1 if a.direction == "LONG" else -1))
        if a.exit_decision_time <= end:
            orders[a.exit_decision_time].append((0, 0))
    return {t: [target for _, target in sorted(items)] for t, items in sorted(orders.items())}


def backtest_annotations(
    db: Database,
    symbol: str,
    timeframe: str,
    start: int,
    end: int,
    config: BrokerConfig,
) -> BacktestResult:
    """Backtest the annotations of ``symbol`` on ``timeframe`` entered in ``(start, end]``."""
    t0 = time.perf_counter()
    candles_store = CandleStore(db)
    candles = traded_candles(candles_store, symbol, timeframe, start, end)
    store = AnnotationStore(db, candles_store, db.path.parent, LiveClock())
    mine = [a for a in store.list(symbol) if a.timeframe == timeframe]
    orders = annotation_orders(mine, start, end)
    if not orders:
        raise DataMissingError(
            f"no {timeframe} annotation of {symbol} is entered in {format_time(start)} .. "
            f"{format_time(end)}: annotate trades on the chart first or widen the range"
        )
    broker = Broker(config)
    signals = 0
    for c in candles:
        broker.on_candle(c)
        for target in orders.get(c.close_time, ()):
            broker.order_target(symbol, c.close_time, target)
            signals += 1
    broker.finish()
    return result_of(
        "annotations",
        symbol,
        timeframe,
        start,
        end,
        "annotations",
        candles,
        signals,
        broker,
        time.perf_counter() - t0,
        request={"symbol": symbol, "timeframe": timeframe, "start": start, "end": end},
    )

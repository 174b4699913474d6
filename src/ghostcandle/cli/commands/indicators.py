"""``ghostcandle indicators --symbol S --timeframe TF [--from T] [--to T]``."""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

from ghostcandle.cli.context import add_common, open_db
from ghostcandle.cli.output import emit_json, table
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.indicators import INDICATOR_COLUMNS, batch_indicators
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import check_timeframe, format_time, parse_time
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.indicators import IndicatorStore

#: Rows printed as a table when no range is given (JSON prints the whole range).
DEFAULT_ROWS = 20


def register(sub: Any) -> None:
    """Add the subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "indicators",
        help="compute, store and print the indicators of a series",
        description=(
            "Compute SMA 10/20/50, EMA 12/26, RSI 14, ATR 14, MACD 12/26/9 and Bollinger 20/2 "
            "from the stored candles, store them, and print those with open time in "
            "[--from, --to] (default: the last 20 candles)."
        ),
    )
    p.add_argument("--symbol", required=True)
    p.add_argument("--timeframe", required=True)
    p.add_argument("--from", dest="start", help="first open time (epoch ms or ISO)")
    p.add_argument("--to", dest="end", help="last open time (epoch ms or ISO)")
    add_common(p)
    p.set_defaults(handler=run)


def _clean(v: float) -> float | None:
    return None if math.isnan(v) else v


def run(args: argparse.Namespace) -> int:
    """Compute, store and print the indicators."""
    symbol, tf = normalise_symbol(args.symbol), check_timeframe(args.timeframe)
    start = None if args.start is None else parse_time(args.start)
    end = None if args.end is None else parse_time(args.end)
    with open_db(args) as db:
        candles = CandleStore(db).read(symbol, tf)
        if len(candles) == 0:
            raise DataMissingError(f"no {tf} candles of {symbol} are stored: ingest some first")
        t = candles["open_time"].to_numpy(dtype=np.int64)
        values = batch_indicators(
            candles["high"].to_numpy(dtype=np.float64),
            candles["low"].to_numpy(dtype=np.float64),
            candles["close"].to_numpy(dtype=np.float64),
        )
        IndicatorStore(db).write(symbol, tf, t, values)
    keep = np.ones(len(t), dtype=bool)
    if start is not None:
        keep &= t >= start
    if end is not None:
        keep &= t <= end
    if start is None and end is None and not args.json:
        keep[: max(0, len(t) - DEFAULT_ROWS)] = False
    idx = np.nonzero(keep)[0]
    if args.json:
        emit_json(
            {
                "symbol": symbol,
                "timeframe": tf,
                "count": len(idx),
                "columns": list(INDICATOR_COLUMNS),
                "rows": [
                    {
                        "open_time": int(t[i]),
                        **{c: _clean(float(values[i, j])) for j, c in enumerate(INDICATOR_COLUMNS)},
                    }
                    for i in idx.tolist()
                ],
            }
        )
        return 0
    shown = ("sma_20", "ema_12", "rsi_14", "atr_14", "macd", "bb_upper", "bb_lower")
    cols = [INDICATOR_COLUMNS.index(c) for c in shown]
    rows = [[format_time(int(t[i])), *(values[i, j] for j in cols)] for i in idx.tolist()]
    print(table(["open_time", *shown], rows))
    print(f"{len(idx)} row(s); --json prints every column")
    return 0

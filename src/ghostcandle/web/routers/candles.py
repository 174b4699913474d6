"""``/api/candles``: pages of stored candles, newest first in pages, oldest first within one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.web.deps import WorkspaceDep
from ghostcandle.web.schemas import CandleOut, CandlesOut, Timeframe

router = APIRouter(prefix="/api", tags=["candles"])


@router.get("/candles")
def candles(
    ws: WorkspaceDep,
    symbol: Annotated[str, Query(max_length=40, description="e.g. ETH/USDT")],
    timeframe: Timeframe,
    before: Annotated[
        int | None,
        Query(ge=0, description="only candles opening before this time (epoch ms); omit: newest"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> CandlesOut:
    """Return up to ``limit`` candles opening before ``before``; page back to load history."""
    sym = normalise_symbol(symbol)
    end = None if before is None else before - 1
    with ws.db.cursor() as cur:
        rows = cur.execute(
            "SELECT open_time, open, high, low, close, volume FROM candles "
            "WHERE symbol = $s AND timeframe = $t AND ($e IS NULL OR open_time <= $e) "
            "ORDER BY open_time DESC LIMIT $n",
            {"s": sym, "t": timeframe, "e": end, "n": limit + 1},
        ).fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit][::-1]
    return CandlesOut(
        symbol=sym,
        timeframe=timeframe,
        candles=[
            CandleOut(time=int(r[0]), open=r[1], high=r[2], low=r[3], close=r[4], volume=r[5])
            for r in rows
        ],
        has_more=has_more,
    )

"""``/api/candles``: pages of stored candles, newest first in pages, oldest first within one."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Response

from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.web.deps import WorkspaceDep
from ghostcandle.web.schemas import CandlesOut, Timeframe

router = APIRouter(prefix="/api", tags=["candles"])

#: One page as JSON, written by DuckDB: the chart's first page is up to 10,000 candles, and
#: building a pydantic object per candle cost more than the query (bench/bench_web_paint.py).
#: The newest ``$n1`` = limit + 1 rows tell whether older ones exist; the page drops the oldest.
PAGE_SQL = """
SELECT to_json(CASE WHEN len(l) > $n THEN l[2:] ELSE l END)::VARCHAR, len(l) > $n
FROM (
    SELECT coalesce(list({'time': open_time, 'open': open, 'high': high, 'low': low,
                          'close': close, 'volume': volume} ORDER BY open_time), []) AS l
    FROM (
        SELECT open_time, open, high, low, close, volume FROM candles
        WHERE symbol = $s AND timeframe = $t AND ($e IS NULL OR open_time <= $e)
        ORDER BY open_time DESC LIMIT $n1
    )
)
"""


@router.get("/candles", response_model=CandlesOut)
def candles(
    ws: WorkspaceDep,
    symbol: Annotated[str, Query(max_length=40, description="e.g. ETH/USDT")],
    timeframe: Timeframe,
    before: Annotated[
        int | None,
        Query(ge=0, description="only candles opening before this time (epoch ms); omit: newest"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response:
    """Return up to ``limit`` candles opening before ``before``; page back to load history."""
    sym = normalise_symbol(symbol)
    end = None if before is None else before - 1
    with ws.db.cursor() as cur:
        row = cur.execute(
            PAGE_SQL, {"s": sym, "t": timeframe, "e": end, "n": limit, "n1": limit + 1}
        ).fetchone()
    page, has_more = row if row is not None else ("[]", False)
    head = json.dumps({"symbol": sym, "timeframe": timeframe})[:-1]
    body = f'{head}, "candles": {page}, "has_more": {"true" if has_more else "false"}}}'
    return Response(content=body, media_type="application/json")

"""``/api/depth``: the newest stored order book of a symbol, for the chart's depth ladder."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.order_book import HOW_TO_GET_DEPTH
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.store.depth import DepthStore
from ghostcandle.web.deps import WorkspaceDep

router = APIRouter(prefix="/api", tags=["structure"])


@router.get("/depth")
def depth(
    ws: WorkspaceDep,
    symbol: Annotated[str, Query(max_length=40, description="e.g. ETH/USDT")],
    levels: Annotated[int, Query(ge=1, le=100, description="levels per side")] = 20,
) -> dict[str, Any]:
    """Return the newest stored book of ``symbol`` with levels: bids best first, asks best
    first, the touch, spread and the summed quantities shown.

    404 with one line when none is stored (``serve --depth depth20`` records the feed's book).
    """
    sym = normalise_symbol(symbol)
    store = DepthStore(ws.db)
    span = store.span(sym)
    if span is None:
        raise DataMissingError(
            f"no order book of {sym} is stored: serve with `--depth depth20` to record the "
            "feed's, or " + HOW_TO_GET_DEPTH
        )
    book = next(s for s in reversed(store.read(sym, span[1], span[1])) if s.bids and s.asks)
    bids, asks = book.bids[:levels], book.asks[:levels]
    bid, ask = bids[0][0], asks[0][0]
    return {
        "symbol": sym,
        "time": book.time,
        "now": ws.clock.now_ms(),
        "bids": [[p, q] for p, q in bids],
        "asks": [[p, q] for p, q in asks],
        "best_bid": bid,
        "best_ask": ask,
        "spread": ask - bid,
        "mid": (ask + bid) / 2,
        "bid_qty": sum(q for _, q in bids),
        "ask_qty": sum(q for _, q in asks),
    }

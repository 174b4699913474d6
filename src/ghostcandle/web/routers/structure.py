"""``/api/pivots`` and ``/api/indicators``: market structure for the chart's overlays.

Series the live structure engine follows are kept up to date as candles close. A stored series
nobody has computed yet (ingested history, the demo's candles) is computed once, in batch, on
its first request; the batch result equals the incremental one, so both can share the tables.
"""

from __future__ import annotations

import math
import threading
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query

from ghostcandle.domain.indicators import INDICATOR_COLUMNS
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.engine.structure.engine import compute_structure
from ghostcandle.store.indicators import IndicatorStore
from ghostcandle.store.pivots import PivotStore
from ghostcandle.web.deps import WorkspaceDep
from ghostcandle.web.schemas import Timeframe
from ghostcandle.web.workspace import Workspace

router = APIRouter(prefix="/api", tags=["structure"])
_lock = threading.Lock()

#: Indicator overlays drawn on the price scale (the others need their own scale).
PRICE_OVERLAYS = ("sma_20", "sma_50", "ema_12", "ema_26", "bb_upper", "bb_lower")

_Sym = Annotated[str, Query(max_length=40, description="e.g. ETH/USDT")]
_Ms = Annotated[int | None, Query(ge=0, le=2**53, description="epoch ms (open time)")]


def ensure_structure(ws: Workspace, symbol: str, timeframe: str) -> bool:
    """Compute and store a series' indicators and pivots if none are stored; tell if it did."""
    with _lock:
        with ws.db.cursor() as cur:
            row = cur.execute(
                "SELECT count(*) FROM indicators WHERE symbol = ? AND timeframe = ?",
                [symbol, timeframe],
            ).fetchone()
        if row and int(row[0]) > 0:
            return False
        candles = ws.candles.read(symbol, timeframe)
        if len(candles) == 0:
            return False
        result = compute_structure(symbol, timeframe, candles)
        with ws.db.transaction() as con:
            IndicatorStore(ws.db).write_in(
                con, symbol, timeframe, result.open_time, result.indicators
            )
            PivotStore(ws.db).write_in(con, result.pivots)
        return True


@router.get("/pivots")
def pivots(
    ws: WorkspaceDep,
    symbol: _Sym,
    timeframe: Timeframe,
    start: _Ms = None,
    end: _Ms = None,
    level: Annotated[int | None, Query(ge=1, le=10, description="only this level")] = None,
) -> dict[str, Any]:
    """Return the confirmed pivots whose extreme lies in ``[start, end]``, with their level."""
    sym = normalise_symbol(symbol)
    ensure_structure(ws, sym, timeframe)
    found = PivotStore(ws.db).read(sym, timeframe, level=level, start=start, end=end)
    return {
        "symbol": sym,
        "timeframe": timeframe,
        "pivots": [
            {
                "time": p.pivot_time,
                "price": p.price,
                "type": p.pivot_type,
                "level": p.level,
                "high": p.is_high,
                "strength": p.strength,
                "confirmed_at": p.confirmed_at,
            }
            for p in found
        ],
    }


@router.get("/indicators")
def indicators(
    ws: WorkspaceDep,
    symbol: _Sym,
    timeframe: Timeframe,
    start: _Ms = None,
    end: _Ms = None,
) -> dict[str, Any]:
    """Return indicator series (``time`` + one list per indicator, null where not defined)."""
    sym = normalise_symbol(symbol)
    ensure_structure(ws, sym, timeframe)
    df = IndicatorStore(ws.db).read(sym, timeframe, start, end)
    out: dict[str, Any] = {"time": df["open_time"].astype(np.int64).tolist()}
    for col in INDICATOR_COLUMNS:
        out[col] = [None if math.isnan(v) else float(v) for v in df[col].tolist()]
    return {
        "symbol": sym,
        "timeframe": timeframe,
        "overlays": list(PRICE_OVERLAYS),
        "columns": list(INDICATOR_COLUMNS),
        "series": out,
    }

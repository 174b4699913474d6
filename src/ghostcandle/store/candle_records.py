"""What a candle write says and the rows it writes: verdicts, results, errors, Arrow batches.

``store.candles.CandleStore`` uses these; they hold no connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import VALUE_COLUMNS, Candle
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.timeframes import format_time

#: Where a batch of candles came from: one path for all, or one per candle.
Provenance = CandleSource | Sequence[CandleSource]

Verdict = Literal["new", "same", "replace", "conflict"]
"""What a write did with one candle (see ``CandleStore.write_in``)."""
NEW: Final = "new"
SAME: Final = "same"
REPLACE: Final = "replace"
CONFLICT: Final = "conflict"


#: Values equal within float precision are the same fact: a volume summed from 1m candles
#: (20702.422439999995) is the exchange's daily 20702.42244. ``numpy.isclose`` with a relative
#: tolerance of 1e-9 (exchange prices and volumes carry at most ~15 significant digits; a
#: float sum of a day's 1,440 values drifts by ~1e-13 relative) and an absolute one for zero.
SAME_RTOL: Final = 1e-9
SAME_ATOL: Final = 1e-12
SAME_VALUES_SQL = " AND ".join(
    f"abs(c.{v} - s.{v}) <= {SAME_ATOL!r} + {SAME_RTOL!r} * abs(s.{v})" for v in VALUE_COLUMNS
)


class MissingCandlesError(DataMissingError):
    """A window asked for candles that are not stored; ``missing`` lists their open times."""

    def __init__(self, symbol: str, timeframe: str, missing: list[int]) -> None:
        self.missing = missing
        shown = ", ".join(format_time(t) for t in missing[:3]) + (
            " ..." if len(missing) > 3 else ""
        )
        super().__init__(
            f"{len(missing)} {timeframe} candle(s) of {symbol} are not stored ({shown}): "
            "ingest or backfill that range first"
        )


class FrameMismatchError(DataMissingError):
    """A frame reference no longer materialises to the input it recorded."""


@dataclass(frozen=True)
class WriteResult:
    """What a bulk write did: rows inserted, replaced (incomplete -> more complete), and refused."""

    inserted: int = 0
    replaced: int = 0
    duplicates: int = 0
    conflicts: int = 0
    conflict_times: list[int] = field(default_factory=list)
    #: nothing was stored in the batch's time range before: the series' rows there are the batch
    range_was_empty: bool = False


@dataclass(frozen=True)
class SeriesInfo:
    """Overview of one stored series."""

    symbol: str
    timeframe: str
    first_open_time: int
    last_open_time: int
    rows: int
    gaps: int
    missing: int
    incomplete: int


def arrow_batch(candles: pd.DataFrame | pa.Table) -> pa.Table:
    """Return the numeric columns of a batch (a frame or an Arrow table), sorted by time.

    Refuses a batch holding an open time twice.
    """

    def raw(name: str, dtype: type) -> np.ndarray:
        if isinstance(candles, pa.Table):
            return np.asarray(candles.column(name).to_numpy()).astype(dtype, copy=False)
        return candles[name].to_numpy(dtype=dtype)

    t = raw("open_time", np.int64)
    order = None if bool(np.all(t[1:] > t[:-1])) else np.argsort(t, kind="stable")
    if order is not None and bool(np.any(t[order][1:] == t[order][:-1])):
        # the table has no key to catch it (migration 3)
        raise ValueError("a candle batch holds one open time twice: validate the batch first")

    def col(name: str, dtype: type) -> np.ndarray:
        a = raw(name, dtype)
        return a if order is None else a[order]

    data: dict[str, pa.Array] = {c: pa.array(col(c, np.float64)) for c in VALUE_COLUMNS}
    data = {"open_time": pa.array(col("open_time", np.int64)), **data}
    names = candles.column_names if isinstance(candles, pa.Table) else candles.columns
    if "n_parts" in names:
        data["n_parts"] = pa.array(col("n_parts", np.int32))
        data["complete"] = pa.array(col("complete", np.bool_))
    else:
        data["n_parts"] = pa.nulls(len(t), pa.int32())
        data["complete"] = pa.array(np.ones(len(t), dtype=np.bool_))
    return pa.table(data)


def provenance_column(provenance: Provenance, n: int) -> list[str]:
    """Return one provenance value per candle; refuse a list of the wrong length."""
    if isinstance(provenance, str):
        return [CandleSource(provenance).value] * n
    values = [CandleSource(p).value for p in provenance]
    if len(values) != n:
        raise ValueError(f"{len(values)} provenance values for {n} candles: give one per candle")
    return values


def candle_table(candles: Sequence[Candle], source: str, provenance: Provenance) -> pa.Table:
    """Return closed candles of any series as rows of the ``candles`` table, in its order."""
    n = len(candles)
    return pa.table(
        {
            "symbol": [c.symbol for c in candles],
            "timeframe": [c.timeframe for c in candles],
            "open_time": pa.array([c.open_time for c in candles], pa.int64()),
            **{
                name: pa.array([getattr(c, name) for c in candles], pa.float64())
                for name in VALUE_COLUMNS
            },
            "n_parts": pa.nulls(n, pa.int32()),
            "complete": pa.array(np.ones(n, dtype=np.bool_)),
            "source": [source] * n,
            "provenance": provenance_column(provenance, n),
        }
    )


def check_unique(candles: Sequence[Candle]) -> None:
    """Refuse a batch holding one candle twice (the ``candles`` table has no key to catch it)."""
    if len({(c.symbol, c.timeframe, c.open_time) for c in candles}) != len(candles):
        raise ValueError("a candle batch holds one candle twice: validate the batch first")

"""Write closed candles of many series in one transaction (the live path's bulk write).

``CandleStore.write_in`` handles one series per call at several milliseconds each; a live feed
closing 50 symbols' candles in the same second needs them stored together. This writer keeps
``write_in``'s rules exactly: rows are validated by ``validate_candles``; a new candle is
inserted; an identical stored one is a duplicate; a stored incomplete (rolled-up) one is
replaced; a stored complete one with other values is never overwritten: the write is refused
and logged in ``candle_conflicts``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ghostcandle.domain.candles import Candle
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import DAY_MS
from ghostcandle.domain.validation import validate_candles
from ghostcandle.store.db import Database

# Validation runs once per timeframe over every symbol: each symbol's open times are shifted by
# a multiple of a day beyond the batch's newest time, so alignment checks are unchanged and
# duplicate detection stays within one series.

_NEW, _SAME, _REPLACE, _CONFLICT = 0, 1, 2, 3


@dataclass(frozen=True)
class BatchWriteResult:
    """Which candles were stored, already there, refused as conflicts or rejected as invalid."""

    stored: list[Candle] = field(default_factory=list)
    duplicates: list[Candle] = field(default_factory=list)
    conflicts: list[Candle] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)


def _validate(candles: Sequence[Candle]) -> tuple[list[Candle], dict[str, int], int]:
    """Return the valid candles (unique per series), rejections by reason, duplicates dropped."""
    by_tf: dict[str, list[Candle]] = {}
    rejected: dict[str, int] = {}
    for c in candles:
        if c.open_time < 0:  # before 1970: no exchange sends that
            rejected["negative_open_time"] = rejected.get("negative_open_time", 0) + 1
            continue
        by_tf.setdefault(c.timeframe, []).append(c)
    valid: list[Candle] = []
    dups = 0
    for tf, group in by_tf.items():
        symbols = sorted({c.symbol for c in group})
        index = {s: i for i, s in enumerate(symbols)}
        newest = max(c.open_time for c in group)
        shift = (max(newest, 0) // DAY_MS + 1) * DAY_MS
        if shift * len(symbols) >= 2**62:
            raise UserInputError("open times out of range: give epoch milliseconds")
        df = pd.DataFrame(
            {
                "open_time": np.array(
                    [c.open_time + index[c.symbol] * shift for c in group], np.int64
                ),
                "open": [c.open for c in group],
                "high": [c.high for c in group],
                "low": [c.low for c in group],
                "close": [c.close for c in group],
                "volume": [c.volume for c in group],
            }
        )
        result = validate_candles(df, tf)
        for k, v in result.rejected.items():
            rejected[k] = rejected.get(k, 0) + v
        dups += result.duplicates
        good = result.valid
        for t, o, h, lo, cl, vol in zip(
            good["open_time"].to_numpy(),
            good["open"].to_numpy(),
            good["high"].to_numpy(),
            good["low"].to_numpy(),
            good["close"].to_numpy(),
            good["volume"].to_numpy(),
            strict=True,
        ):
            sym = symbols[int(t) // shift]
            valid.append(
                Candle(
                    sym,
                    tf,
                    int(t) % shift,
                    float(o),
                    float(h),
                    float(lo),
                    float(cl),
                    float(vol),
                )
            )
    return valid, rejected, dups


def _table(candles: Sequence[Candle], source: str) -> pa.Table:
    return pa.table(
        {
            "symbol": [c.symbol for c in candles],
            "timeframe": [c.timeframe for c in candles],
            "open_time": pa.array([c.open_time for c in candles], pa.int64()),
            "open": pa.array([c.open for c in candles], pa.float64()),
            "high": pa.array([c.high for c in candles], pa.float64()),
            "low": pa.array([c.low for c in candles], pa.float64()),
            "close": pa.array([c.close for c in candles], pa.float64()),
            "volume": pa.array([c.volume for c in candles], pa.float64()),
            "n_parts": pa.array([None] * len(candles), pa.int32()),
            "complete": pa.array([True] * len(candles), pa.bool_()),
            "source": [source] * len(candles),
        }
    )


def write_closed(
    db: Database,
    candles: Sequence[Candle],
    *,
    source: str,
    newest: dict[tuple[str, str], int] | None = None,
) -> BatchWriteResult:
    """Validate and store closed candles of any series in one transaction (see module doc).

    ``newest`` maps a series to the open time of its newest stored candle, as the caller knows
    it: when every candle is newer, they are inserted in one statement (the primary key still
    guards the table: on a clash the batch is classified candle by candle instead).
    """
    valid, rejected, _dups = _validate(candles)
    if not valid:
        return BatchWriteResult(rejected=rejected)
    if newest is not None and all(
        c.open_time > newest.get((c.symbol, c.timeframe), 2**62) for c in valid
    ):
        table = _table(valid, source)
        try:
            # a relation from Arrow, not register(): registering a view costs a catalog change
            with db.transaction() as con:
                con.from_arrow(table).insert_into("candles")
            return BatchWriteResult(valid, [], [], rejected)
        except duckdb.ConstraintException:
            pass  # someone stored some of them: classify below
    return _write_classified(db, valid, rejected, source)


def _write_classified(
    db: Database, valid: list[Candle], rejected: dict[str, int], source: str
) -> BatchWriteResult:
    staged = _table(valid, source)
    lo = min(c.open_time for c in valid)
    hi = max(c.open_time for c in valid)
    with db.transaction() as con:
        con.register("gc_live", staged)
        try:
            verdicts = con.execute(
                """
                SELECT CASE
                    WHEN c.open_time IS NULL THEN 0
                    WHEN c.open = s.open AND c.high = s.high AND c.low = s.low
                         AND c.close = s.close AND c.volume = s.volume AND c.complete THEN 1
                    WHEN NOT c.complete THEN 2
                    ELSE 3 END
                FROM (SELECT *, row_number() OVER () AS rn FROM gc_live) s
                LEFT JOIN (SELECT * FROM candles WHERE open_time BETWEEN ? AND ?) c
                  ON c.symbol = s.symbol AND c.timeframe = s.timeframe
                 AND c.open_time = s.open_time
                ORDER BY s.rn
                """,
                [lo, hi],
            ).fetchnumpy()
        finally:
            con.unregister("gc_live")
        verdict = np.asarray(next(iter(verdicts.values())), dtype=np.int64)
        stored = [c for c, v in zip(valid, verdict, strict=True) if v in (_NEW, _REPLACE)]
        replace = [c for c, v in zip(valid, verdict, strict=True) if v == _REPLACE]
        conflicts = [c for c, v in zip(valid, verdict, strict=True) if v == _CONFLICT]
        duplicates = [c for c, v in zip(valid, verdict, strict=True) if v == _SAME]
        for c in replace:
            con.execute(
                "DELETE FROM candles WHERE symbol = ? AND timeframe = ? AND open_time = ?",
                [c.symbol, c.timeframe, c.open_time],
            )
        if stored:
            con.from_arrow(_table(stored, source)).insert_into("candles")
        if conflicts:
            refused = _table(conflicts, source).drop_columns(["n_parts", "complete"])
            con.register("gc_conflicts", refused)
            try:
                con.execute(
                    "INSERT INTO candle_conflicts SELECT *, ? FROM gc_conflicts",
                    [int(time.time() * 1000)],
                )
            finally:
                con.unregister("gc_conflicts")
    return BatchWriteResult(stored, duplicates, conflicts, rejected)

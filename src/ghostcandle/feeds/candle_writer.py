"""Validate and store closed candles of many series in one transaction (the feed's write).

A live feed closing 50 symbols' candles in the same second needs them stored together. This
adapter validates the candles with ``validate_candles`` and hands the valid candles to
``CandleStore.write_many``, which applies the store's one set of write rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import Candle
from ghostcandle.domain.validation import validate_candles
from ghostcandle.store.candles import CONFLICT, NEW, REPLACE, SAME, CandleStore, Provenance


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
        # one pass over every symbol of the timeframe: the symbol is part of the candle's key
        df = pd.DataFrame(
            {
                "symbol": [c.symbol for c in group],
                "open_time": np.array([c.open_time for c in group], np.int64),
                "open": [c.open for c in group],
                "high": [c.high for c in group],
                "low": [c.low for c in group],
                "close": [c.close for c in group],
                "volume": [c.volume for c in group],
            }
        )
        result = validate_candles(df, tf, keys=("symbol",))
        for k, v in result.rejected.items():
            rejected[k] = rejected.get(k, 0) + v
        dups += result.duplicates
        good = result.valid
        valid.extend(
            Candle(str(sym), tf, int(t), float(o), float(h), float(lo), float(cl), float(vol))
            for sym, t, o, h, lo, cl, vol in zip(
                good["symbol"].to_numpy(),
                good["open_time"].to_numpy(),
                good["open"].to_numpy(),
                good["high"].to_numpy(),
                good["low"].to_numpy(),
                good["close"].to_numpy(),
                good["volume"].to_numpy(),
                strict=True,
            )
        )
    return valid, rejected, dups


def write_closed(
    store: CandleStore,
    candles: Sequence[Candle],
    *,
    provenance: Provenance,
    source: str,
    newest: Mapping[tuple[str, str], int] | None = None,
) -> BatchWriteResult:
    """Validate closed candles of any series and store them in one transaction.

    ``provenance`` is one path for every candle or one per candle of ``candles``; ``newest`` is
    the caller's view of each series' newest stored open time (see ``CandleStore.write_many``).
    """
    valid, rejected, _dups = _validate(candles)
    if isinstance(provenance, str):
        paths: Provenance = CandleSource(provenance)
    else:
        # validation rebuilds and drops candles: carry each one's path by its key (first wins)
        by_key: dict[tuple[str, str, int], CandleSource] = {}
        for c, p in zip(candles, provenance, strict=True):
            by_key.setdefault((c.symbol, c.timeframe, c.open_time), CandleSource(p))
        paths = [by_key[(c.symbol, c.timeframe, c.open_time)] for c in valid]
    verdicts = store.write_many(valid, provenance=paths, source=source, newest=newest)
    pairs = list(zip(valid, verdicts, strict=True))
    return BatchWriteResult(
        stored=[c for c, v in pairs if v in (NEW, REPLACE)],
        duplicates=[c for c, v in pairs if v == SAME],
        conflicts=[c for c, v in pairs if v == CONFLICT],
        rejected=rejected,
    )

"""The frame of an annotation: 100 closed candles per timeframe ending at its entry.

Missing candles are made before the frame is taken: rolled up from a lower stored timeframe,
then fetched from the exchange when the workspace has one (``CandleFetcher``). What cannot be
made leaves a shorter window; the test case then says how complete it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import numpy as np

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.frames import FrameRef, frame_hash, make_frame_id
from ghostcandle.domain.timeframes import (
    DEFAULT_TIMEFRAMES,
    align_down,
    duration_ms,
    format_time,
)
from ghostcandle.domain.window import WindowSpec
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.rollups import rollup_range

log = logging.getLogger(__name__)

#: Candles per timeframe in a test case's market state (the seeds' format).
MARKET_STATE_LENGTH = 100
FRAME_MODEL = "annotation"
FRAME_VERSION = "1"

#: Store the closed candles of ``(symbol, timeframe)`` opening in ``[first, last]`` that are
#: missing (an exchange backfill); raising is logged and the window stays as it is.
CandleFetcher = Callable[[str, str, int, int], None]


def unbroken_run(candles: CandleStore, symbol: str, tf: str, end: int) -> int:
    """Return how many candles of ``tf`` up to ``end`` are stored without a gap, ``end`` last."""
    d = duration_ms(tf)
    df = candles.read(symbol, tf, end - (MARKET_STATE_LENGTH - 1) * d, end)
    t = df["open_time"].to_numpy(dtype=np.int64)
    if len(t) == 0 or t[-1] != end:
        return 0
    breaks = np.nonzero(np.diff(t) != d)[0]
    return len(t) - (int(breaks[-1]) + 1 if len(breaks) else 0)


def _last_closed_open(tf: str, decision_time: int) -> int:
    """Return the open time of the newest ``tf`` candle closed by ``decision_time``."""
    return align_down(decision_time, tf) - duration_ms(tf)


def fill_missing(
    candles: CandleStore, symbol: str, decision_time: int, fetch: CandleFetcher | None = None
) -> None:
    """Roll up, then fetch, the candles a frame at ``decision_time`` lacks (none after it)."""
    for i, tf in enumerate(DEFAULT_TIMEFRAMES):
        end = _last_closed_open(tf, decision_time)
        if unbroken_run(candles, symbol, tf, end) == MARKET_STATE_LENGTH:
            continue
        first = end - (MARKET_STATE_LENGTH - 1) * duration_ms(tf)
        for lower in reversed(DEFAULT_TIMEFRAMES[:i]):
            # only lower candles closed by the decision: no bucket is rolled up from later ones
            lo_end = _last_closed_open(lower, decision_time)
            with candles.db.transaction() as con:
                rollup_range(
                    candles, con, symbol, lower, first, min(lo_end, end + duration_ms(tf) - 1)
                )
            if unbroken_run(candles, symbol, tf, end) == MARKET_STATE_LENGTH:
                break
        if fetch is not None and unbroken_run(candles, symbol, tf, end) < MARKET_STATE_LENGTH:
            try:
                fetch(symbol, tf, first, end)
            except Exception as exc:  # the exchange is optional: the case says what is missing
                log.warning("fetching %s %s candles for a test case failed: %s", symbol, tf, exc)


def annotation_frame(
    candles: CandleStore, symbol: str, decision_time: int, fetch: CandleFetcher | None = None
) -> FrameRef:
    """Reference the last closed candles (up to 100 per timeframe) at ``decision_time``."""
    fill_missing(candles, symbol, decision_time, fetch)
    specs: list[WindowSpec] = []
    for tf in DEFAULT_TIMEFRAMES:
        end = _last_closed_open(tf, decision_time)
        n = unbroken_run(candles, symbol, tf, end)
        if n:
            specs.append(WindowSpec(tf, end, n))
    if not specs:
        raise DataMissingError(
            f"no candles of {symbol} closed before {format_time(decision_time)}: "
            "load history before marking this trade"
        )
    windows = [candles.window(symbol, s) for s in specs]
    spec_tuple = tuple(specs)
    return FrameRef(
        frame_id=make_frame_id(FRAME_MODEL, symbol, decision_time, spec_tuple),
        model=FRAME_MODEL,
        model_version=FRAME_VERSION,
        symbol=symbol,
        decision_time=decision_time,
        windows=spec_tuple,
        input_hash=frame_hash(windows),
    )


def completeness(frame: FrameRef) -> dict[str, int]:
    """Return the closed candles per timeframe a frame holds (0 where none)."""
    held: Mapping[str, int] = {w.timeframe: w.length for w in frame.windows}
    return {tf: int(held.get(tf, 0)) for tf in DEFAULT_TIMEFRAMES}

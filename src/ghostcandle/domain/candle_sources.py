"""Candle provenance: which path a stored candle arrived by (the list is defined here only).

Every writer of the candle store names its path (``CandleStore.write_in`` and ``write_many``
require it), and the store keeps it in the ``candles.provenance`` column. Provenance is not part
of a candle's identity or content hash: the same candle arriving again by another path is a
duplicate, and the stored row keeps the provenance it was first written with.

>>> CandleSource.REST_BACKFILL == "rest_backfill"
True
"""

from __future__ import annotations

from enum import StrEnum


class CandleSource(StrEnum):
    """The path a candle took into the store."""

    #: a closed kline from an exchange's WebSocket stream (the live feed)
    WEBSOCKET = "websocket"
    #: a page of closed candles fetched over REST (gap fills, history, ``backfill``, ccxt)
    REST_BACKFILL = "rest_backfill"
    #: a candle file ingested with ``ghostcandle ingest``
    FILE = "file"
    #: a higher timeframe aggregated from stored lower-timeframe candles
    ROLLUP = "rollup"
    #: a synthetic market generated locally (``ghostcandle demo``)
    SIMULATOR = "simulator"
    #: stored before provenance was recorded (set by the migration only, never by a writer)
    UNKNOWN = "unknown"

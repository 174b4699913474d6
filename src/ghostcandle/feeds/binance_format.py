"""The Binance public market-data formats: stream names, kline and depth messages, REST rows.

Parsing is strict: a message that is not exactly what Binance sends raises ``BadMessageError``
with a short reason, so the connector can count it and go on. Prices travel as strings with
8 decimals.

>>> kline_stream("ETH/USDT", "1m")
'ethusdt@kline_1m'
>>> fmt(3000.5)
'3000.50000000'
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from ghostcandle.domain.candles import Candle
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.order_book import DiffUpdate
from ghostcandle.domain.symbols import exchange_symbol, normalise_symbol
from ghostcandle.domain.timeframes import TIMEFRAMES, duration_ms

#: A frame larger than this is rejected unread: no Binance market message comes near it.
MAX_MESSAGE_BYTES = 256 * 1024
#: Depth levels kept per side (the ``depth20`` partial book stream).
DEPTH_LEVELS = 20


class BadMessageError(ValueError):
    """A message that cannot be used; ``reason`` is a short label for the rejection counters."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def fmt(value: float) -> str:
    """Format a price or quantity the way Binance does (8 decimals)."""
    return f"{value:.8f}"


def kline_stream(symbol: str, interval: str) -> str:
    """Return the stream name of one symbol's klines (``ethusdt@kline_1m``)."""
    return f"{exchange_symbol(symbol).lower()}@kline_{interval}"


def depth_stream(symbol: str) -> str:
    """Return the stream name of one symbol's top-20 book every 100 ms."""
    return f"{exchange_symbol(symbol).lower()}@depth{DEPTH_LEVELS}@100ms"


def diff_depth_stream(symbol: str) -> str:
    """Return the stream name of one symbol's book diffs every 100 ms (the local-book protocol)."""
    return f"{exchange_symbol(symbol).lower()}@depth@100ms"


@dataclass(frozen=True, slots=True)
class KlineUpdate:
    """One kline message: ``closed`` is Binance's ``x`` (only closed candles are facts)."""

    symbol: str
    candle: Candle
    closed: bool
    event_time: int


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """A top-of-book snapshot: ``bids`` best first (descending), ``asks`` ascending."""

    symbol: str
    last_update_id: int
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class DepthDiff:
    """A ``depthUpdate``: the levels that changed for update ids ``diff.first_id..last_id``."""

    symbol: str
    diff: DiffUpdate


@dataclass(frozen=True, slots=True)
class ServerShutdown:
    """The server announced it will close the connection soon: reconnect now."""

    event_time: int


Message = KlineUpdate | DepthUpdate | DepthDiff | ServerShutdown


def _num(raw: Any, name: str) -> float:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise BadMessageError("bad_field", f"{name} is {type(raw).__name__}")
    try:
        value = float(raw)
    except ValueError:
        raise BadMessageError("bad_field", f"{name}={raw!r}") from None
    if not math.isfinite(value):
        raise BadMessageError("non_finite", name)
    return value


def _int(raw: Any, name: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise BadMessageError("bad_field", f"{name} is not an integer")
    return raw


def candle_from_kline(symbol: str, k: dict[str, Any]) -> Candle:
    """Build a ``Candle`` from the ``k`` object of a kline message, checking it fully."""
    try:
        interval = k["i"]
        t, big_t = _int(k["t"], "t"), _int(k["T"], "T")
        o, h, lo, c, v = (_num(k[f], f) for f in ("o", "h", "l", "c", "v"))
    except KeyError as exc:
        raise BadMessageError("missing_field", str(exc)) from None
    if not isinstance(interval, str) or interval not in TIMEFRAMES:
        raise BadMessageError("bad_interval", repr(interval)[:40])
    d = duration_ms(interval)
    if t < 0 or t % d or big_t != t + d - 1:
        raise BadMessageError("misaligned_time", f"t={t} T={big_t} i={interval}")
    if min(o, h, lo, c) <= 0 or v < 0:
        raise BadMessageError("non_positive", f"o={o} h={h} l={lo} c={c} v={v}")
    if h < max(o, c) or lo > min(o, c):
        raise BadMessageError("inconsistent_ohlc", f"o={o} h={h} l={lo} c={c}")
    return Candle(symbol, interval, t, o, h, lo, c, v)


def parse_message(raw: str | bytes) -> Message | None:
    """Parse one frame of a combined stream; return None for frames we do not use.

    Raise ``BadMessageError`` for anything malformed (the caller counts it and carries on).
    """
    if len(raw) > MAX_MESSAGE_BYTES:
        raise BadMessageError("too_large", f"{len(raw)} bytes")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadMessageError("bad_json") from None
    if not isinstance(obj, dict):
        raise BadMessageError("bad_shape", "not an object")
    data = obj.get("data", obj) if "stream" in obj else obj
    if not isinstance(data, dict):
        raise BadMessageError("bad_shape", "data is not an object")
    event = data.get("e")
    if event == "kline":
        k = data.get("k")
        if not isinstance(k, dict) or not isinstance(data.get("s"), str):
            raise BadMessageError("missing_field", "k or s")
        try:
            symbol = normalise_symbol(data["s"])
        except UserInputError:
            raise BadMessageError("bad_symbol", repr(data["s"])) from None
        closed = k.get("x")
        if not isinstance(closed, bool):
            raise BadMessageError("missing_field", "x")
        candle = candle_from_kline(symbol, k)
        return KlineUpdate(symbol, candle, closed, _int(data.get("E"), "E"))
    if event == "depthUpdate":
        return parse_diff(data)
    if event == "serverShutdown":
        return ServerShutdown(_int(data.get("E", 0), "E"))
    if "lastUpdateId" in data:
        stream = obj.get("stream")
        if not isinstance(stream, str) or "@" not in stream:
            raise BadMessageError("missing_field", "stream")
        try:
            symbol = normalise_symbol(stream.split("@", 1)[0])
        except UserInputError:
            raise BadMessageError("bad_symbol", repr(stream)) from None
        return parse_depth(symbol, data)
    if "result" in obj and "id" in obj:
        return None  # the answer to a SUBSCRIBE request
    raise BadMessageError("unknown_event", repr(event))


def parse_depth(
    symbol: str, data: dict[str, Any], levels: int | None = DEPTH_LEVELS
) -> DepthUpdate:
    """Parse a partial book (stream frame or REST ``/api/v3/depth`` answer).

    Keep the best ``levels`` per side (None: all, as a local book's REST snapshot needs).
    """
    try:
        bids = tuple((_num(p, "bid"), _num(q, "bid_qty")) for p, q in data["bids"])
        asks = tuple((_num(p, "ask"), _num(q, "ask_qty")) for p, q in data["asks"])
        uid = _int(data["lastUpdateId"], "lastUpdateId")
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BadMessageError):
            raise
        raise BadMessageError("bad_depth", str(exc)) from None
    return DepthUpdate(symbol, uid, bids[:levels], asks[:levels])


def parse_diff(data: dict[str, Any]) -> DepthDiff:
    """Parse the ``data`` of a ``depthUpdate`` (quantity 0 removes a level)."""
    if not isinstance(data.get("s"), str):
        raise BadMessageError("missing_field", "s")
    try:
        symbol = normalise_symbol(data["s"])
        first, last = _int(data["U"], "U"), _int(data["u"], "u")
        bids = tuple((_num(p, "bid"), _num(q, "bid_qty")) for p, q in data["b"])
        asks = tuple((_num(p, "ask"), _num(q, "ask_qty")) for p, q in data["a"])
        event_time = _int(data["E"], "E")
    except KeyError as exc:
        raise BadMessageError("missing_field", str(exc)) from None
    except UserInputError:
        raise BadMessageError("bad_symbol", repr(data.get("s"))) from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, BadMessageError):
            raise
        raise BadMessageError("bad_depth", str(exc)) from None
    if last < first:
        raise BadMessageError("bad_depth", f"U={first} > u={last}")
    if any(p <= 0 or q < 0 for p, q in (*bids, *asks)):
        raise BadMessageError("non_positive", "depth level")
    return DepthDiff(symbol, DiffUpdate(event_time, first, last, bids, asks))


def candle_from_rest_row(symbol: str, interval: str, row: Any) -> Candle:
    """Build a ``Candle`` from one row of ``/api/v3/klines`` (``[t, o, h, l, c, v, T, ...]``)."""
    if not isinstance(row, list) or len(row) < 7:
        raise BadMessageError("bad_shape", "kline row")
    k = {"t": row[0], "o": row[1], "h": row[2], "l": row[3], "c": row[4], "v": row[5]}
    k.update({"T": row[6], "i": interval})
    return candle_from_kline(symbol, k)


def kline_payload(candle: Candle, *, closed: bool, event_time: int) -> dict[str, Any]:
    """Return the ``data`` object of a kline stream message for ``candle``."""
    s = exchange_symbol(candle.symbol)
    return {
        "e": "kline",
        "E": event_time,
        "s": s,
        "k": {
            "t": candle.open_time,
            "T": candle.close_time - 1,
            "s": s,
            "i": candle.timeframe,
            "o": fmt(candle.open),
            "c": fmt(candle.close),
            "h": fmt(candle.high),
            "l": fmt(candle.low),
            "v": fmt(candle.volume),
            "n": 0,
            "x": closed,
        },
    }


def rest_row(candle: Candle) -> list[Any]:
    """Return ``candle`` as one row of ``/api/v3/klines``."""
    return [
        candle.open_time,
        fmt(candle.open),
        fmt(candle.high),
        fmt(candle.low),
        fmt(candle.close),
        fmt(candle.volume),
        candle.close_time - 1,
        fmt(candle.volume * candle.close),
        0,
        "0",
        "0",
        "0",
    ]

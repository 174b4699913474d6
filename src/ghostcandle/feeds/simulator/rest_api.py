"""The simulator's REST side: ``/api/v3/{ping,time,klines,depth}`` answered like Binance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import align_down, duration_ms
from ghostcandle.feeds.binance_format import rest_row

if TYPE_CHECKING:
    from ghostcandle.feeds.simulator.server import ExchangeSimulator

Answer = tuple[int, Any, dict[str, str]]
#: Binance's largest depth snapshot.
MAX_DEPTH_LIMIT = 5000


def _error(code: int, msg: str, status: int = 400) -> Answer:
    return status, {"code": code, "msg": msg}, {}


class RestApi:
    """Answer REST paths for one simulator (faults included)."""

    def __init__(self, sim: ExchangeSimulator) -> None:
        self.sim = sim

    def handle(self, path: str) -> Answer:
        """Return ``(status, json_body, extra_headers)`` for a GET of ``path``."""
        sim = self.sim
        f = sim.config.faults
        sim.stats.rest_requests += 1
        parts = urlsplit(path)
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if f.rest_429_every and sim.stats.rest_requests % f.rest_429_every == 0:
            sim.stats.rest_429 += 1
            body = {"code": -1003, "msg": "Too many requests (simulated)."}
            return 429, body, {"Retry-After": f"{f.retry_after_s:g}"}
        route = parts.path
        if route == "/api/v3/ping":
            return 200, {}, {}
        if route == "/api/v3/time":
            return 200, {"serverTime": sim.sim_now()}, {}
        if route == "/api/v3/klines":
            if f.rest_418:
                return _error(-1003, "IP banned (simulated).", 418)
            return self._klines(q)
        if route == "/api/v3/depth":
            return self._depth(q)
        if route == "/api/v3/exchangeInfo":
            return 200, self._exchange_info(), {}
        return _error(-1000, f"unknown path {route}", 404)

    def _symbol(self, q: dict[str, str]) -> str | None:
        try:
            symbol = normalise_symbol(q.get("symbol", ""))
        except UserInputError:
            return None
        return symbol if symbol in self.sim.market.series else None

    def _klines(self, q: dict[str, str]) -> Answer:
        symbol = self._symbol(q)
        if symbol is None:
            return _error(-1121, "Invalid symbol.")
        interval = q.get("interval", "")
        if interval not in self.sim.market.intervals:
            return _error(-1120, "Invalid interval.")
        try:
            limit = min(1000, max(1, int(q.get("limit", "500"))))
            start = int(q["startTime"]) if "startTime" in q else None
            end = int(q["endTime"]) if "endTime" in q else None
        except ValueError:
            return _error(-1100, "Illegal characters found in a parameter.")
        now = self.sim.sim_now()
        d = duration_ms(interval)
        current = align_down(now, interval)
        last = current if end is None else min(current, align_down(end, interval))
        if start is None:
            start = last - (limit - 1) * d
        market = self.sim.market
        rows = [
            rest_row(c) for c in market.closed_candles(symbol, interval, start, last, now, limit)
        ]
        # like Binance, the still-open candle comes last when the range reaches it
        if len(rows) < limit and start <= current <= last:
            forming = market.forming_candle(symbol, interval, current, now)
            if forming is not None:
                rows.append(rest_row(forming))
        return 200, rows, {}

    def _exchange_info(self) -> dict[str, Any]:
        """Describe the symbols traded, enough for generic clients (ccxt) to load markets."""
        symbols = []
        for s in self.sim.market.symbols:
            base, quote = s.split("/")
            symbols.append(
                {
                    "symbol": base + quote,
                    "status": "TRADING",
                    "baseAsset": base,
                    "baseAssetPrecision": 8,
                    "quoteAsset": quote,
                    "quotePrecision": 8,
                    "quoteAssetPrecision": 8,
                    "orderTypes": ["LIMIT", "MARKET"],
                    "isSpotTradingAllowed": True,
                    "isMarginTradingAllowed": False,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": "0.01000000",
                            "maxPrice": "1000000.00000000",
                            "tickSize": "0.01000000",
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": "0.00010000",
                            "maxQty": "9000.00000000",
                            "stepSize": "0.00010000",
                        },
                    ],
                    "permissions": ["SPOT"],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self.sim.sim_now(),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": symbols,
        }

    def _depth(self, q: dict[str, str]) -> Answer:
        symbol = self._symbol(q)
        if symbol is None:
            return _error(-1121, "Invalid symbol.")
        raw = q.get("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_DEPTH_LIMIT:
            return _error(-1100, f"limit must be 1..{MAX_DEPTH_LIMIT}.")
        book = self.sim.book(symbol, self.sim.sim_now(), int(raw))
        if book is None:
            return _error(-1121, "Invalid symbol.")
        return 200, book, {}

"""An async client for the Binance public REST endpoints ghostcandle uses (no API key).

Rate limits are honoured: HTTP 429 waits ``Retry-After`` seconds and tries again (at most
``max_retries`` times); HTTP 418 means the IP is banned, so it stops at once and says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from ghostcandle.domain.candles import Candle
from ghostcandle.domain.errors import OperationalError, TemporaryError
from ghostcandle.domain.symbols import exchange_symbol
from ghostcandle.feeds.binance_format import (
    BadMessageError,
    DepthUpdate,
    candle_from_rest_row,
    parse_depth,
)
from ghostcandle.feeds.config import BINANCE_REST_URL

log = logging.getLogger(__name__)

KLINES_LIMIT = 1000

Sleep = Callable[[float], Awaitable[None]]


class BinanceRest:
    """Call ``/api/v3/{ping,time,klines,depth}`` on ``base_url``.

    ``sleep`` is injected so tests can see the waits a 429 causes; ``waited_s`` adds them up.
    """

    def __init__(
        self,
        base_url: str = BINANCE_REST_URL,
        *,
        timeout_s: float = 10.0,
        max_retries: int = 5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)
        self._max_retries = max_retries
        self._sleep = sleep
        self.requests = 0
        self.rate_limited = 0
        self.waited_s = 0.0

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        for _attempt in range(self._max_retries + 1):
            self.requests += 1
            try:
                resp = await self._client.get(path, params=params)
            except httpx.HTTPError as exc:
                raise TemporaryError(
                    f"cannot reach {self.base_url}{path}: {type(exc).__name__} {exc}".strip()
                ) from None
            if resp.status_code == 429:
                self.rate_limited += 1
                wait = _retry_after(resp)
                log.warning("%s answered 429 (rate limit): waiting %.1f s", self.base_url, wait)
                self.waited_s += wait
                await self._sleep(wait)
                continue
            if resp.status_code == 418:
                raise OperationalError(
                    f"{self.base_url} answered 418: this IP is banned for ignoring rate limits "
                    f"(Retry-After {resp.headers.get('Retry-After', '?')} s); stop and wait it out"
                )
            if resp.status_code >= 500:
                raise TemporaryError(f"{self.base_url}{path} answered {resp.status_code}")
            if resp.status_code >= 400:
                raise OperationalError(
                    f"{self.base_url}{path} answered {resp.status_code}: {resp.text[:200]}"
                )
            try:
                return resp.json()
            except ValueError:
                raise TemporaryError(f"{self.base_url}{path} answered invalid JSON") from None
        raise TemporaryError(
            f"{self.base_url} kept answering 429 after {self._max_retries} retries: try later"
        )

    async def ping(self) -> None:
        """Check that the exchange answers."""
        await self._get("/api/v3/ping")

    async def server_time(self) -> int:
        """Return the exchange's clock (epoch ms): what is closed is judged by it."""
        data = await self._get("/api/v3/time")
        if not isinstance(data, dict) or not isinstance(data.get("serverTime"), int):
            raise TemporaryError(f"{self.base_url}/api/v3/time answered {data!r:.100}")
        return int(data["serverTime"])

    async def klines(
        self,
        symbol: str,
        interval: str,
        start_ms: int,
        end_ms: int | None = None,
        limit: int = KLINES_LIMIT,
    ) -> tuple[list[Candle], int]:
        """Return one page of candles opening at or after ``start_ms``, and the rows rejected.

        The page may end with the still-open candle: the caller drops what is not closed.
        """
        params: dict[str, Any] = {
            "symbol": exchange_symbol(symbol),
            "interval": interval,
            "startTime": start_ms,
            "limit": limit,
        }
        if end_ms is not None:
            params["endTime"] = end_ms
        rows = await self._get("/api/v3/klines", params)
        if not isinstance(rows, list):
            raise TemporaryError(f"{self.base_url}/api/v3/klines answered {rows!r:.100}")
        out: list[Candle] = []
        bad = 0
        for row in rows:
            try:
                out.append(candle_from_rest_row(symbol, interval, row))
            except BadMessageError as exc:
                bad += 1
                log.warning("rejected a %s %s REST kline: %s", symbol, interval, exc)
        return out, bad

    async def depth(self, symbol: str, limit: int = 20) -> DepthUpdate:
        """Return the top ``limit`` levels of the book (all it answers: a local book's snapshot).

        A malformed answer raises ``TemporaryError`` (the caller may ask again).
        """
        data = await self._get("/api/v3/depth", {"symbol": exchange_symbol(symbol), "limit": limit})
        if not isinstance(data, dict):
            raise TemporaryError(f"{self.base_url}/api/v3/depth answered {data!r:.100}")
        try:
            return parse_depth(symbol, data, levels=limit)
        except BadMessageError as exc:
            raise TemporaryError(
                f"{self.base_url}/api/v3/depth answered a bad book: {exc}"
            ) from None


def _retry_after(resp: httpx.Response) -> float:
    raw = resp.headers.get("Retry-After", "1")
    try:
        return max(0.0, min(float(raw), 300.0))
    except ValueError:
        return 1.0

"""Store compact order-book snapshots (top levels per side, one row per symbol and second).

A row's ``time`` is when its book was known: the book after every update stamped at or before
``time`` (the live recorder labels the second in which it took the book, see
``feeds/depth.py``). A model deciding at ``t`` may read rows with ``time <= t`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.order_book import HOW_TO_GET_DEPTH
from ghostcandle.domain.timeframes import format_time
from ghostcandle.store.db import Database

#: Columns in write order (the table's order since migration 32).
_COLUMNS = (
    "symbol", "time", "last_update_id", "bid_price", "bid_qty", "ask_price", "ask_qty", "source",
    "best_bid", "best_ask", "bid_total", "ask_total", "total_levels", "known_levels",
    "buy_volume", "sell_volume", "trades",
)  # fmt: skip
_INT_COLUMNS = ("total_levels", "known_levels", "trades")
#: A grid second takes the newest row at most this old (the recorder skips unchanged books).
MAX_AGE_MS = 5_000


class MissingDepthError(DataMissingError):
    """No stored book covers the snapshots a decision needs."""

    def __init__(self, symbol: str, time: int) -> None:
        super().__init__(
            f"no order book of {symbol} stored for the seconds up to {format_time(time)}: "
            + HOW_TO_GET_DEPTH
        )


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """One symbol's book at ``time``: bids best first (descending), asks ascending.

    A book summary keeps no levels (``bids``/``asks`` empty): its touch is ``best``, its summed
    volumes ``totals`` (bid, ask, levels per side). ``known_levels`` is what a local book held;
    ``flow`` the taker buy volume, taker sell volume and trade count of the second ending at
    ``time``. Each is None where the source did not give it.
    """

    symbol: str
    time: int
    last_update_id: int
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]
    best: tuple[float, float] | None = None
    totals: tuple[float, float, int] | None = None
    known_levels: int | None = None
    flow: tuple[float, float, int] | None = None

    @property
    def touch(self) -> tuple[float, float] | None:
        """Return (best bid, best ask) from the levels or the summary."""
        if self.bids and self.asks:
            return self.bids[0][0], self.asks[0][0]
        return self.best


def _row(s: DepthSnapshot) -> tuple[object, ...]:
    touch = s.touch
    return (
        *(touch or (None, None)),
        *(s.totals or (None, None, None)),
        s.known_levels,
        *(s.flow or (None, None, None)),
    )


class DepthStore:
    """Write and read ``depth_snapshots``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def write(self, snapshots: Sequence[DepthSnapshot], *, source: str = "") -> int:
        """Insert snapshots in one transaction; one already stored for (symbol, time) is kept.

        Return the number of snapshots given.
        """
        if not snapshots:
            return 0
        with self.db.transaction() as con:
            return self.write_in(con, snapshots, source=source)

    def write_in(
        self, con: duckdb.DuckDBPyConnection, snapshots: Sequence[DepthSnapshot], *, source: str
    ) -> int:
        """Insert snapshots inside the caller's transaction ``con``; return how many were given.

        The table has no key (migration 33): a snapshot is inserted only where none of its
        symbol and time is stored, looked up in the batch's time range (the zone maps skip the
        rest); of a (symbol, time) given twice the first is kept.
        """
        given = len(snapshots)
        first: dict[tuple[str, int], DepthSnapshot] = {}
        for s in snapshots:
            first.setdefault((s.symbol, s.time), s)
        snapshots = list(first.values())
        if not snapshots:
            return 0
        extra = list(zip(*(_row(s) for s in snapshots), strict=True))
        f64, i32 = pa.float64(), pa.int32()
        table = pa.table(
            {
                "symbol": [s.symbol for s in snapshots],
                "time": pa.array([s.time for s in snapshots], pa.int64()),
                "last_update_id": pa.array([s.last_update_id for s in snapshots], pa.int64()),
                "bid_price": pa.array([[p for p, _ in s.bids] for s in snapshots], pa.list_(f64)),
                "bid_qty": pa.array([[q for _, q in s.bids] for s in snapshots], pa.list_(f64)),
                "ask_price": pa.array([[p for p, _ in s.asks] for s in snapshots], pa.list_(f64)),
                "ask_qty": pa.array([[q for _, q in s.asks] for s in snapshots], pa.list_(f64)),
                "source": [source] * len(snapshots),
                **{
                    name: pa.array(col, i32 if name in _INT_COLUMNS else f64)
                    for name, col in zip(_COLUMNS[8:], extra, strict=True)
                },
            }
        )
        cols = ", ".join(_COLUMNS)
        con.register("gc_depth", table)
        try:
            con.execute(
                f"INSERT INTO depth_snapshots ({cols}) SELECT {cols} FROM gc_depth n "
                "WHERE NOT EXISTS (SELECT 1 FROM depth_snapshots d WHERE d.time BETWEEN ? AND ? "
                "AND d.time = n.time AND d.symbol = n.symbol)",
                [min(t for _, t in first), max(t for _, t in first)],
            )
        finally:
            con.unregister("gc_depth")
        return given

    def read(
        self, symbol: str, start: int | None = None, end: int | None = None
    ) -> list[DepthSnapshot]:
        """Return the snapshots of ``symbol`` with ``start <= time <= end``, oldest first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {', '.join(c for c in _COLUMNS if c != 'source')} FROM depth_snapshots "
                "WHERE symbol = ? AND time BETWEEN ? AND ? ORDER BY time",
                [symbol, -(2**62) if start is None else start, 2**62 if end is None else end],
            ).fetchall()
        return [_snapshot(r) for r in rows]

    def count(self, symbol: str | None = None) -> int:
        """Return how many snapshots are stored (of ``symbol`` if given)."""
        with self.db.cursor() as cur:
            if symbol is None:
                row = cur.execute("SELECT count(*) FROM depth_snapshots").fetchone()
            else:
                row = cur.execute(
                    "SELECT count(*) FROM depth_snapshots WHERE symbol = ?", [symbol]
                ).fetchone()
        return int(row[0]) if row else 0

    def require(self, symbols: Sequence[str], who: str) -> None:
        """Raise one ``DataMissingError`` line when a symbol has no stored levels at all."""
        missing = [s for s in symbols if self.span(s) is None]
        if missing:
            raise DataMissingError(
                f"{who} reads the order book but none of {', '.join(missing)} is stored: "
                + HOW_TO_GET_DEPTH
            )

    def symbols(self) -> list[str]:
        """Return the symbols with stored levels, sorted."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT DISTINCT symbol FROM depth_snapshots WHERE len(bid_price) > 0 ORDER BY 1"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def span(self, symbol: str) -> tuple[int, int] | None:
        """Return the first and last ``time`` with stored levels of ``symbol``, or None."""
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT min(time), max(time) FROM depth_snapshots "
                "WHERE symbol = ? AND len(bid_price) > 0",
                [symbol],
            ).fetchone()
        return None if row is None or row[0] is None else (int(row[0]), int(row[1]))

    def levels_at(
        self,
        symbol: str,
        times: Sequence[int],
        count: int,
        *,
        levels: int = 20,
        step_ms: int = 1000,
        max_age_ms: int = MAX_AGE_MS,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the books of the ``count`` seconds ending at each of ``times``.

        For decision time ``t`` the grid is ``t - (count - 1) * step_ms ... t``; each grid point
        takes the newest row with levels at or before it (never after: no look-ahead), at most
        ``max_age_ms`` old. Return float64 ``(len(times), count, levels, 4)`` (bid price, bid
        quantity, ask price, ask quantity; a side shorter than ``levels`` repeats its last price
        with quantity 0) and a bool ``(len(times),)`` telling which decisions had every point.
        """
        out = np.zeros((len(times), count, levels, 4))
        ok = np.zeros(len(times), dtype=bool)
        if not times:
            return out, ok
        lo = min(times) - (count - 1) * step_ms - max_age_ms
        rows = [s for s in self.read(symbol, lo, max(times)) if s.bids and s.asks]
        if not rows:
            return out, ok
        stamp = np.array([s.time for s in rows], dtype=np.int64)
        books = np.stack([_levels(s, levels) for s in rows])
        for i, t in enumerate(times):
            grid = t - step_ms * np.arange(count - 1, -1, -1, dtype=np.int64)
            j = np.searchsorted(stamp, grid, side="right") - 1
            if j[0] < 0 or np.any(grid - stamp[j] > max_age_ms):
                continue
            out[i] = books[j]
            ok[i] = True
        return out, ok


def _levels(s: DepthSnapshot, levels: int) -> np.ndarray:
    out = np.zeros((levels, 4))
    for col, side in ((0, s.bids), (2, s.asks)):
        arr = np.asarray(side[:levels], dtype=np.float64)
        out[: len(arr), col : col + 2] = arr
        out[len(arr) :, col] = arr[-1, 0]
    return out


def _snapshot(r: tuple[object, ...]) -> DepthSnapshot:
    def opt(*vals: object) -> tuple[float, ...] | None:
        return None if any(v is None for v in vals) else tuple(float(v) for v in vals)  # type: ignore[arg-type]

    totals = opt(r[9], r[10], r[11])
    flow = opt(r[13], r[14], r[15])
    best = opt(r[7], r[8])
    return DepthSnapshot(
        str(r[0]),
        int(r[1]),  # type: ignore[call-overload]
        int(r[2]),  # type: ignore[call-overload]
        tuple(zip(r[3], r[4], strict=True)),  # type: ignore[call-overload]
        tuple(zip(r[5], r[6], strict=True)),  # type: ignore[call-overload]
        best=(best[0], best[1]) if best else None,
        totals=(totals[0], totals[1], int(totals[2])) if totals else None,
        known_levels=None if r[12] is None else int(r[12]),  # type: ignore[call-overload]
        flow=(flow[0], flow[1], int(flow[2])) if flow else None,
    )

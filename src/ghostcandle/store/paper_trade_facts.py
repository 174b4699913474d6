"""What the live panel shows of a paper session's closed trades, read each candle cheaply.

The panel is pushed at every close of the finest timeframe with the account's totals, each
symbol's last exit and the newest trades. Read by ``GROUP BY symbol`` and ``ORDER BY seq DESC
LIMIT`` over every trade of the session, each push built a hash table and a sort whose buffers
left nodes in DuckDB's eviction queues (a ``serve`` at 30x: queue 6 grew ~2,400 nodes a minute
once the session had traded a while, ~0.5 KB each, purged only at ~32k) and cost more as the
trades grew. ``TradeFactsReader`` reads the totals by one ungrouped aggregate each time (no hash
table) and reads trades only when the totals changed: the ones appended since (by ``seq``, a
filter), else, after a reset, all of them once.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import duckdb

from ghostcandle.domain.broker import Trade

#: the newest trades kept for the panel (it shows 5)
RECENT_KEPT = 50
TRADE_COLS = (
    "symbol, side, size, entry_time, entry_price, exit_time, exit_price, entry_fee, exit_fee, "
    "pnl, exit_reason"
)


@dataclass(frozen=True)
class TradeTotals:
    """A session's closed trades in figures: what the panel shows and what tells a change."""

    count: int
    wins: int
    realised: float
    fees: float
    last_seq: int  # -1 without trades
    exit_sum: int  # the sum of the exit times: trades replaced by others (a reset) change it


@dataclass(frozen=True)
class TradeFacts:
    """The totals, each symbol's last exit time and the newest trades (oldest first)."""

    totals: TradeTotals
    exits: dict[str, int]
    recent: tuple[Trade, ...]


def trade_from_row(r: tuple[Any, ...]) -> Trade:
    """Return the trade of a row of ``TRADE_COLS``."""
    return Trade(
        str(r[0]),
        r[1],
        float(r[2]),
        int(r[3]),
        float(r[4]),
        int(r[5]),
        float(r[6]),
        float(r[7]),
        float(r[8]),
        float(r[9]),
        str(r[10]),
    )


def _totals(cur: duckdb.DuckDBPyConnection, session_id: str) -> TradeTotals:
    row = cur.execute(
        "SELECT count(*), count(*) FILTER (WHERE pnl > 0), coalesce(sum(pnl), 0), "
        "coalesce(sum(entry_fee + exit_fee), 0), coalesce(max(seq), -1), "
        "coalesce(sum(exit_time), 0) FROM paper_trades WHERE session_id = ?",
        [session_id],
    ).fetchone()
    assert row is not None  # an ungrouped aggregate has one row
    return TradeTotals(int(row[0]), int(row[1]), float(row[2]), float(row[3]), *map(int, row[4:]))


def _after(cur: duckdb.DuckDBPyConnection, session_id: str, seq: int) -> list[Trade]:
    """Return the trades after ``seq``, in ``seq`` order (sorted here: no sort in DuckDB)."""
    rows = cur.execute(
        f"SELECT seq, {TRADE_COLS} FROM paper_trades WHERE session_id = ? AND seq > ?",
        [session_id, seq],
    ).fetchall()
    return [trade_from_row(r[1:]) for r in sorted(rows, key=lambda r: int(r[0]))]


def _all(cur: duckdb.DuckDBPyConnection, session_id: str, totals: TradeTotals) -> TradeFacts:
    exits = cur.execute(
        "SELECT symbol, max(exit_time) FROM paper_trades WHERE session_id = ? GROUP BY symbol",
        [session_id],
    ).fetchall()
    newest = cur.execute(
        f"SELECT {TRADE_COLS} FROM paper_trades WHERE session_id = ? ORDER BY seq DESC "
        f"LIMIT {RECENT_KEPT}",
        [session_id],
    ).fetchall()
    recent = tuple(trade_from_row(r) for r in reversed(newest))
    return TradeFacts(totals, {str(s): int(t) for s, t in exits}, recent)


def _appended(kept: TradeFacts, totals: TradeTotals, new: list[Trade]) -> TradeFacts | None:
    """Return ``kept`` with ``new`` appended, or None if they do not add up to ``totals``."""
    old = kept.totals
    if len(new) != totals.count - old.count:
        return None
    realised = old.realised + sum(t.pnl for t in new)
    exit_sum = old.exit_sum + sum(t.exit_time for t in new)
    if exit_sum != totals.exit_sum or not math.isclose(
        realised, totals.realised, rel_tol=1e-9, abs_tol=1e-9
    ):
        return None
    exits = dict(kept.exits)
    for t in new:
        exits[t.symbol] = max(exits.get(t.symbol, t.exit_time), t.exit_time)
    return TradeFacts(totals, exits, (*kept.recent, *new)[-RECENT_KEPT:])


class TradeFactsReader:
    """Read ``TradeFacts`` of sessions, keeping the last read of each (see the module doc)."""

    def __init__(self) -> None:
        self._kept: dict[str, TradeFacts] = {}
        self._lock = threading.Lock()

    def read(self, cur: duckdb.DuckDBPyConnection, session_id: str) -> TradeFacts:
        """Return the session's facts now, reading trades only if they changed.

        ``cur`` is a cursor of this thread's, not in a transaction: the reads share one.
        """
        cur.begin()  # the totals and the trades read of one state of the table
        try:
            return self._read(cur, session_id)
        finally:
            cur.rollback()  # it only read

    def _read(self, cur: duckdb.DuckDBPyConnection, session_id: str) -> TradeFacts:
        totals = _totals(cur, session_id)
        with self._lock:
            kept = self._kept.get(session_id)
        if kept is not None and kept.totals == totals:
            return kept
        facts = None
        if kept is not None and totals.count > kept.totals.count:
            facts = _appended(kept, totals, _after(cur, session_id, kept.totals.last_seq))
        if facts is None:  # the first read, or trades removed or replaced (a reset)
            facts = _all(cur, session_id, totals)
        with self._lock:
            self._kept[session_id] = facts
        return facts

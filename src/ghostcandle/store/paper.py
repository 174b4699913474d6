"""Paper trading accounts: a live session's simulated cash, positions, orders, trades, equity.

Everything a candle changed is written in one transaction (``save``), so after a crash the
account, its positions and its trade list always agree, and a restarted paper trader carries
on from the last candle it handled.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ghostcandle.domain.broker import BrokerState, EquityPoint, Order, Position, Trade
from ghostcandle.domain.errors import ConflictError
from ghostcandle.domain.performance import trade_json
from ghostcandle.store.db import Database
from ghostcandle.store.paper_trade_facts import (
    RECENT_KEPT,
    TRADE_COLS,
    TradeFacts,
    TradeFactsReader,
    trade_from_row,
)


@dataclass(frozen=True)
class PaperAccount:
    """A stored account: its settings, broker state and the time of the last candle handled."""

    session_id: str
    timeframe: str
    config: Mapping[str, Any]
    state: BrokerState
    equity: float
    last_time: int | None
    trades: int
    updated_at: int


class PaperStore:
    """Read and write the ``paper_*`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db
        #: the closed trades' figures as last read, per session (``paper_trade_facts``)
        self.trade_facts = TradeFactsReader()

    def create(
        self, session_id: str, timeframe: str, config: Mapping[str, Any], cash: float, now: int
    ) -> None:
        """Open an account for a session (its equity starts as ``cash``)."""
        with self.db.transaction() as con:
            con.execute(
                "INSERT INTO paper_accounts (session_id, timeframe, config, cash, equity, "
                "last_time, fills, updated_at) VALUES (?, ?, ?, ?, ?, NULL, 0, ?)",
                [session_id, timeframe, json.dumps(dict(config), sort_keys=True), cash, cash, now],
            )

    def save(
        self,
        session_id: str,
        state: BrokerState,
        *,
        equity: float,
        last_time: int,
        last_prices: Mapping[str, float],
        new_trades: Sequence[Trade],
        first_seq: int,
        point: EquityPoint | None,
        now: int,
    ) -> None:
        """Write what one candle changed, in one transaction.

        The trades and equity tables have no key (migration 41): ``new_trades`` take the
        sequence numbers from ``first_seq`` on, refused with ``ConflictError`` (nothing written)
        where one of them is stored already, as the key did; ``point`` replaces the stored point
        of its time, if any.
        """
        with self.db.transaction() as con:
            con.execute(
                "UPDATE paper_accounts SET cash = ?, equity = ?, last_time = ?, fills = ?, "
                "updated_at = ? WHERE session_id = ?",
                [state.cash, equity, last_time, state.fills, now, session_id],
            )
            con.execute("DELETE FROM paper_positions WHERE session_id = ?", [session_id])
            if state.positions:
                con.executemany(
                    "INSERT INTO paper_positions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        [
                            session_id,
                            p.symbol,
                            p.side,
                            p.size,
                            p.entry_time,
                            p.entry_price,
                            p.entry_fee,
                            last_prices.get(p.symbol, p.entry_price),
                        ]
                        for p in state.positions
                    ],
                )
            con.execute("DELETE FROM paper_orders WHERE session_id = ?", [session_id])
            if state.orders:
                con.executemany(
                    "INSERT INTO paper_orders VALUES (?, ?, ?, ?)",
                    [[session_id, o.symbol, o.target, o.decided_at] for o in state.orders],
                )
            if new_trades:
                last_seq = first_seq + len(new_trades) - 1
                taken = con.execute(
                    "SELECT min(seq), max(seq) FROM paper_trades WHERE session_id = ? "
                    "AND seq BETWEEN ? AND ?",
                    [session_id, first_seq, last_seq],
                ).fetchone()
                if taken is not None and taken[0] is not None:
                    raise ConflictError(
                        f"paper session {session_id} already holds trades {taken[0]}..{taken[1]} "
                        f"of the {first_seq}..{last_seq} given: reload its account before saving"
                    )
                con.executemany(
                    f"INSERT INTO paper_trades (session_id, seq, {TRADE_COLS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[session_id, first_seq + i, *_trade_row(t)] for i, t in enumerate(new_trades)],
                )
            if point is not None:
                con.execute(
                    "DELETE FROM paper_equity WHERE time = ? AND session_id = ?",
                    [point.time, session_id],
                )
                con.execute(
                    "INSERT INTO paper_equity VALUES (?, ?, ?, ?)",
                    [session_id, point.time, point.equity, point.exposed],
                )

    def reset(self, session_id: str, now: int) -> PaperAccount | None:
        """Start a session's account again: initial equity, no positions, orders or trades.

        The settings and the time of the last candle handled are kept (a running trader carries
        on from the next candle). Return the account as reset, or None if there is none.
        """
        with self.db.transaction() as con:
            row = con.execute(
                "SELECT config FROM paper_accounts WHERE session_id = ?", [session_id]
            ).fetchone()
            if row is None:
                return None
            initial = float(json.loads(row[0])["initial_equity"])
            for table in ("paper_positions", "paper_orders", "paper_trades", "paper_equity"):
                con.execute(f"DELETE FROM {table} WHERE session_id = ?", [session_id])
            con.execute(
                "UPDATE paper_accounts SET cash = ?, equity = ?, fills = 0, updated_at = ? "
                "WHERE session_id = ?",
                [initial, initial, now, session_id],
            )
        return self.load(session_id)

    def update_config(
        self, session_id: str, changes: Mapping[str, Any], now: int
    ) -> PaperAccount | None:
        """Change some of an account's stored settings (the rest stay); return the account, or
        None if there is none. Its cash, positions and trades are untouched."""
        with self.db.transaction() as con:
            row = con.execute(
                "SELECT config FROM paper_accounts WHERE session_id = ?", [session_id]
            ).fetchone()
            if row is None:
                return None
            config = {**json.loads(row[0]), **dict(changes)}
            con.execute(
                "UPDATE paper_accounts SET config = ?, updated_at = ? WHERE session_id = ?",
                [json.dumps(config, sort_keys=True), now, session_id],
            )
        return self.load(session_id)

    def load(self, session_id: str) -> PaperAccount | None:
        """Return the stored account of a session, or None if it never traded on paper."""
        got = self._load(session_id)
        return None if got is None else got[0]

    def _load(self, session_id: str) -> tuple[PaperAccount, TradeFacts] | None:
        """Return the account and its trades' facts; positions and orders are few, so sorted
        here (a sort in DuckDB would take buffers each candle)."""
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT timeframe, config, cash, equity, last_time, fills, updated_at "
                "FROM paper_accounts WHERE session_id = ?",
                [session_id],
            ).fetchone()
            if row is None:
                return None
            positions = tuple(
                Position(str(r[0]), r[1], float(r[2]), int(r[3]), float(r[4]), float(r[5]))
                for r in sorted(
                    cur.execute(
                        "SELECT symbol, side, size, entry_time, entry_price, entry_fee "
                        "FROM paper_positions WHERE session_id = ?",
                        [session_id],
                    ).fetchall()
                )
            )
            orders = tuple(
                Order(str(r[0]), int(r[1]), int(r[2]))
                for r in sorted(
                    cur.execute(
                        "SELECT symbol, target, decided_at FROM paper_orders WHERE session_id = ?",
                        [session_id],
                    ).fetchall()
                )
            )
            facts = self.trade_facts.read(cur, session_id)
        # the last position change of a symbol: its open position's entry, else its last exit
        changed = dict(facts.exits)
        for p in positions:
            changed[p.symbol] = max(changed.get(p.symbol, p.entry_time), p.entry_time)
        account = PaperAccount(
            session_id=session_id,
            timeframe=str(row[0]),
            config=json.loads(row[1]),
            state=BrokerState(
                float(row[2]), positions, orders, int(row[5]), tuple(sorted(changed.items()))
            ),
            equity=float(row[3]),
            last_time=None if row[4] is None else int(row[4]),
            trades=facts.totals.count,
            updated_at=int(row[6]),
        )
        return account, facts

    def trades(self, session_id: str, limit: int | None = None) -> list[Trade]:
        """Return the closed trades of a session, oldest first (the newest ``limit`` if given)."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {TRADE_COLS} FROM paper_trades WHERE session_id = ? "
                "ORDER BY seq DESC" + ("" if limit is None else f" LIMIT {int(limit)}"),
                [session_id],
            ).fetchall()
        return [trade_from_row(r) for r in reversed(rows)]

    def equity_curve(self, session_id: str) -> list[EquityPoint]:
        """Return the stored equity points of a session, oldest first."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT time, equity, exposed FROM paper_equity WHERE session_id = ? ORDER BY time",
                [session_id],
            ).fetchall()
        return [EquityPoint(int(r[0]), float(r[1]), bool(r[2])) for r in rows]

    def summary(self, session_id: str, recent: int = 20) -> dict[str, Any] | None:
        """Return what the live panel shows: equity, PnL, win rate, positions, recent trades."""
        got = self._load(session_id)
        if got is None:
            return None
        account, facts = got
        with self.db.cursor() as cur:
            marks = dict(
                cur.execute(
                    "SELECT symbol, last_price FROM paper_positions WHERE session_id = ?",
                    [session_id],
                ).fetchall()
            )
        t = facts.totals
        n, wins, realised, fees = t.count, t.wins, t.realised, t.fees
        newest = facts.recent[-recent:] if 0 < recent <= RECENT_KEPT else ()
        if recent > RECENT_KEPT:
            newest = tuple(self.trades(session_id, recent))
        initial = float(account.config.get("initial_equity", account.equity))
        positions = [
            {
                "symbol": p.symbol,
                "side": p.side,
                "size": p.size,
                "entry_time": p.entry_time,
                "entry_price": p.entry_price,
                "last_price": float(marks.get(p.symbol, p.entry_price)),
                "unrealised_pnl": p.unrealised(float(marks.get(p.symbol, p.entry_price))),
            }
            for p in account.state.positions
        ]
        return {
            "session_id": session_id,
            "timeframe": account.timeframe,
            "initial_equity": initial,
            "equity": account.equity,
            "cash": account.state.cash,
            "pnl": account.equity - initial,
            "return_pct": (account.equity / initial - 1.0) * 100.0 if initial else math.nan,
            "realised_pnl": float(realised),
            "fees": float(fees),
            "trades": int(n),
            "win_rate": int(wins) / int(n) if n else 0.0,
            "positions": positions,
            "orders": [
                {"symbol": o.symbol, "target": o.target, "decided_at": o.decided_at}
                for o in account.state.orders
            ],
            "recent_trades": [trade_json(t) for t in newest],
            # what the panel lets the trader change (a setting stored before it existed: None)
            "min_confidence": account.config.get("min_confidence"),
            "cooldown": account.config.get("cooldown"),
            "last_time": account.last_time,
            "updated_at": account.updated_at,
        }


def _trade_row(t: Trade) -> list[Any]:
    return [
        t.symbol,
        t.side,
        t.size,
        t.entry_time,
        t.entry_price,
        t.exit_time,
        t.exit_price,
        t.entry_fee,
        t.exit_fee,
        t.pnl,
        t.exit_reason,
    ]

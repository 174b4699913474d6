"""The prediction ledger: every prediction, pending until its target candle resolves or it expires.

Append-only (migration 24): a prediction's row is written once when it is made
(``prediction_rows``) and its outcome once when it settles (``prediction_outcomes``); the
``predictions`` view joins them with the columns of a single table. No primary key: DuckDB holds
one in memory per row, for ever; this one writer keeps each row and outcome unique. Errors are
relative:
``price_error = |pred_close - actual_close| / actual_close`` and the same for volume.
"""

from __future__ import annotations

import dataclasses
import operator
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import duckdb
import pandas as pd
import pyarrow as pa

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD, action_from_move
from ghostcandle.domain.candles import Candle
from ghostcandle.store.db import Database
from ghostcandle.store.id_filters import among
from ghostcandle.store.ledger_frames import read_frame

PENDING, RESOLVED, EXPIRED = "pending", "resolved", "expired"


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One row of the ledger. ``ref_close`` is the last close the model saw.

    ``action_correct`` compares the action with the price-move label of the target candle
    (``domain.actions.action_from_move``); ``reward`` is the move earned by the action
    (+move for BUY, -move for SELL, 0 for HOLD).
    """

    prediction_id: str
    session_id: str
    model: str
    model_version: str
    symbol: str
    timeframe: str
    frame_id: str
    decision_time: int
    target_open_time: int
    target_time: int
    expires_at: int
    ref_close: float
    pred_open: float
    pred_high: float
    pred_low: float
    pred_close: float
    pred_volume: float
    action: str
    p_hold: float
    p_buy: float
    p_sell: float
    confidence: float
    status: str = PENDING
    actual_open: float | None = None
    actual_high: float | None = None
    actual_low: float | None = None
    actual_close: float | None = None
    actual_volume: float | None = None
    price_error: float | None = None
    volume_error: float | None = None
    action_correct: bool | None = None
    reward: float | None = None
    resolved_at: int | None = None
    created_at: int = 0

    def resolve(
        self, candle: Candle, at: int, threshold: float = DEFAULT_MOVE_THRESHOLD
    ) -> PredictionRecord:
        """Return this prediction resolved against its target ``candle`` at time ``at``.

        Built by the constructor from the decision's values (the same record as
        ``dataclasses.replace``, which costs several times more a tick's twenty times).
        """
        side = {"BUY": 1.0, "SELL": -1.0}.get(self.action, 0.0)
        label = action_from_move(self.ref_close, candle.close, threshold).name
        return _record(
            *_decision(self),
            RESOLVED,
            candle.open,
            candle.high,
            candle.low,
            candle.close,
            candle.volume,
            abs(self.pred_close - candle.close) / candle.close,
            abs(self.pred_volume - candle.volume) / max(candle.volume, 1e-12),
            self.action == label,
            side * (candle.close / self.ref_close - 1.0),
            at,
            self.created_at,
        )

    def expire(self, at: int) -> PredictionRecord:
        """Return this prediction expired at ``at`` (its target never arrived in time)."""
        return _record(*_decision(self), EXPIRED, *_SETTLED_NONE, at, self.created_at)


FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(PredictionRecord))
#: a record's values in FIELDS order (``dataclasses.astuple`` deep-copies: many times slower)
_row = operator.attrgetter(*FIELDS)
#: the fields a prediction has when it is made, in order (those before ``status``)
_decision = operator.attrgetter(*FIELDS[: FIELDS.index("status")])
#: an expired prediction's outcome values, from ``actual_open`` to ``reward``
_SETTLED_NONE = (None,) * (FIELDS.index("resolved_at") - FIELDS.index("status") - 1)
#: the constructor given every field in FIELDS order (typed loosely: the values come unpacked)
_record = cast(Callable[..., PredictionRecord], PredictionRecord)
_INT = {
    "decision_time",
    "target_open_time",
    "target_time",
    "expires_at",
    "resolved_at",
    "created_at",
}
_BOOL = {"action_correct"}
_STR = {
    "prediction_id",
    "session_id",
    "model",
    "model_version",
    "symbol",
    "timeframe",
    "frame_id",
    "action",
    "status",
}


#: Columns set when a prediction is resolved or expired.
OUTCOME_COLUMNS: tuple[str, ...] = (
    "status",
    "actual_open",
    "actual_high",
    "actual_low",
    "actual_close",
    "actual_volume",
    "price_error",
    "volume_error",
    "action_correct",
    "reward",
    "resolved_at",
)


#: Columns of ``prediction_rows``: what was decided, written once at the prediction.
DECISION: tuple[str, ...] = tuple(f for f in FIELDS if f not in OUTCOME_COLUMNS)
#: Columns of ``prediction_outcomes``: whose outcome, when decided (for pruning), and what.
_OUTCOME_ROW: tuple[str, ...] = ("prediction_id", "session_id", "decision_time", *OUTCOME_COLUMNS)
#: The ``predictions`` view's select list over ``r`` (rows) and ``o`` (outcomes).
_EXPRS = {
    f: "coalesce(o.status, 'pending')"
    if f == "status"
    else (f"o.{f}" if f in OUTCOME_COLUMNS else f"r.{f}")
    for f in FIELDS
}
_JOINED = ", ".join(f"{e} AS {f}" if f == "status" else e for f, e in _EXPRS.items())
_JOIN = (
    "LEFT JOIN prediction_outcomes o "
    "ON o.prediction_id = r.prediction_id AND o.decision_time = r.decision_time"
)


def _time_range(records: Sequence[PredictionRecord]) -> tuple[int, int]:
    """Return the decision-time range of ``records`` (so a lookup prunes by time)."""
    times = [r.decision_time for r in records]
    return min(times), max(times)


def _append(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: Sequence[str],
    records: Sequence[PredictionRecord],
) -> None:
    """Append ``records``' ``columns`` (the table's own, in its order) to ``table``.

    As a relation from Arrow: no view registered and dropped in the transaction and no
    ``INSERT ... SELECT`` to plan, ~1 ms less for a tick's rows.
    """
    arrays = {
        name: pa.array([getattr(r, name) for r in records], type=_arrow_type(name))
        for name in columns
    }
    con.from_arrow(pa.table(arrays)).insert_into(table)


def _arrow_type(name: str) -> pa.DataType:
    if name in _INT:
        return pa.int64()
    if name in _BOOL:
        return pa.bool_()
    if name in _STR:
        return pa.string()
    return pa.float64()


class PredictionLedger:
    """Read and write the ``predictions`` table.

    Rows handed to a background writer but not committed yet can be ``hold``-en: ``get`` then
    returns them at once (a live page asks for the prediction just made), until ``release``.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._held: dict[str, PredictionRecord] = {}
        self._held_lock = threading.Lock()

    def hold(self, records: Iterable[PredictionRecord]) -> None:
        """Make ``records`` readable by ``get`` before they are committed."""
        with self._held_lock:
            for r in records:
                self._held[r.prediction_id] = r

    def release(self, records: Iterable[PredictionRecord]) -> None:
        """Forget held ``records`` once committed (a newer state held since is kept)."""
        with self._held_lock:
            for r in records:
                if self._held.get(r.prediction_id) is r:
                    del self._held[r.prediction_id]

    def write(self, records: Sequence[PredictionRecord]) -> None:
        """Upsert ``records`` in one transaction."""
        with self.db.transaction() as con:
            self.write_in(con, records)

    def write_in(self, con: duckdb.DuckDBPyConnection, records: Sequence[PredictionRecord]) -> None:
        """Upsert ``records`` inside an open transaction (a later state replaces an earlier).

        Rows not stored yet are inserted; the outcomes of the given ids are replaced by the
        given ones (a pending record has none). The session's writer uses ``insert_in`` and
        ``outcome_in`` instead: it knows which rows are new, and each outcome is written once.
        """
        if not records:
            return
        rows = list({r.prediction_id: r for r in records}.values())
        ids, lo, hi = [r.prediction_id for r in rows], *_time_range(rows)
        stored = {
            str(r[0])
            for r in con.execute(
                "SELECT prediction_id FROM prediction_rows WHERE decision_time BETWEEN $lo AND $hi "
                f"AND {among('prediction_id', 'ids', ids)}",
                {"lo": lo, "hi": hi, "ids": ids},
            ).fetchall()
        }
        con.execute(
            "DELETE FROM prediction_outcomes WHERE decision_time BETWEEN $lo AND $hi "
            f"AND {among('prediction_id', 'ids', ids)}",
            {"lo": lo, "hi": hi, "ids": ids},
        )
        self._insert_rows(con, [r for r in rows if r.prediction_id not in stored])
        self.outcome_in(con, [r for r in rows if r.status != PENDING])

    def insert_in(
        self, con: duckdb.DuckDBPyConnection, records: Sequence[PredictionRecord]
    ) -> None:
        """Insert new predictions (never stored before) inside an open transaction.

        A record already resolved or expired (made and settled between two flushes) has its
        outcome written too. Always through Arrow: binding a tick's dozen rows as ``VALUES``
        parameters (hundreds of them) costs DuckDB several times more than scanning an Arrow
        table of them.
        """
        self._insert_rows(con, records)
        self.outcome_in(con, [r for r in records if r.status != PENDING])

    def _insert_rows(
        self, con: duckdb.DuckDBPyConnection, records: Sequence[PredictionRecord]
    ) -> None:
        if records:
            _append(con, "prediction_rows", DECISION, records)

    def outcome_in(
        self, con: duckdb.DuckDBPyConnection, records: Sequence[PredictionRecord]
    ) -> None:
        """Record the outcome (resolved or expired) of predictions, in one append.

        Each prediction's outcome is written once: the session hands a stored prediction's
        outcome here exactly when it settles (``SessionWrites``).
        """
        if records:
            _append(con, "prediction_outcomes", _OUTCOME_ROW, records)

    def _select(
        self, where: str, params: Sequence[Any], suffix: str = ""
    ) -> list[PredictionRecord]:
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {', '.join(FIELDS)} FROM predictions WHERE {where} {suffix}", list(params)
            ).fetchall()
        return [PredictionRecord(*r) for r in rows]

    def pending(self, session_id: str) -> list[PredictionRecord]:
        """Return the pending predictions of a session, oldest target first."""
        return self._select(
            "session_id = ? AND status = ?",
            [session_id, PENDING],
            "ORDER BY target_time, prediction_id",
        )

    def get(self, prediction_id: str) -> PredictionRecord | None:
        """Return one prediction (a held one first), or None."""
        with self._held_lock:
            held = self._held.get(prediction_id)
        if held is not None:
            return held
        found = self._select("prediction_id = ?", [prediction_id])
        return found[0] if found else None

    def recent(
        self, session_id: str, limit: int = 50, *, timeframe: str | None = None
    ) -> list[PredictionRecord]:
        """Return the newest predictions of a session (of one ``timeframe``), newest first.

        The newest rows are picked first and only then joined with their outcomes (the join
        reads the outcomes of their time range, not the whole ledger).
        """
        where, params = "session_id = ?", [session_id]
        if timeframe is not None:
            where, params = where + " AND timeframe = ?", [*params, timeframe]
        order = "decision_time DESC, model, timeframe, symbol"
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"WITH r AS (SELECT * FROM prediction_rows WHERE {where} "
                f"ORDER BY {order} LIMIT {int(limit)}) "
                f"SELECT {_JOINED} FROM r {_JOIN} ORDER BY {order}",
                list(params),
            ).fetchall()
        return [PredictionRecord(*r) for r in rows]

    def counts(self, session_id: str | None = None) -> dict[str, int]:
        """Return how many predictions are in each status (of one session, or all)."""
        with self.db.cursor() as cur:
            where, params = ("WHERE session_id = ?", [session_id]) if session_id else ("", [])
            made = cur.execute(f"SELECT count(*) FROM prediction_rows {where}", params).fetchone()
            rows = cur.execute(
                f"SELECT status, count(*) FROM prediction_outcomes {where} GROUP BY status", params
            ).fetchall()
        out = {PENDING: 0, RESOLVED: 0, EXPIRED: 0}
        out.update({str(s): int(n) for s, n in rows})
        out[PENDING] = (int(made[0]) if made else 0) - out[RESOLVED] - out[EXPIRED]
        return out

    def frame(
        self,
        session_id: str | None = None,
        statuses: Iterable[str] = (RESOLVED,),
        columns: Sequence[str] | None = None,
        timeframe: str | None = None,
    ) -> pd.DataFrame:
        """Return predictions as a DataFrame (for evaluation), of one session or all.

        Ordered by target time, model, symbol, timeframe and decision time; ``columns`` limits
        what is read (a long replay's evaluation needs a dozen of them), ``timeframe`` the
        rows. Read a range of decision times at a time (``ledger_frames``): DuckDB's memory
        stays that of one range.
        """
        cols = list(FIELDS) if columns is None else [c for c in columns if c in FIELDS]
        return read_frame(self.db, _EXPRS, cols, statuses, session_id, timeframe)

    def rows_per_timeframe(self, session_id: str) -> dict[str, int]:
        """Return how many predictions a session made per timeframe (any status)."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT timeframe, count(*) FROM prediction_rows WHERE session_id = ? "
                "GROUP BY timeframe",
                [session_id],
            ).fetchall()
        return {str(tf): int(n) for tf, n in rows}

    def last_decisions(self, session_id: str) -> dict[tuple[str, str], int]:
        """Return the newest decision time per ``(symbol, timeframe)`` of a session."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT symbol, timeframe, max(decision_time) FROM prediction_rows "
                "WHERE session_id = ? GROUP BY symbol, timeframe",
                [session_id],
            ).fetchall()
        return {(str(a), str(b)): int(t) for a, b, t in rows}

    def sessions(self) -> list[str]:
        """Return the session ids that have predictions."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT session_id FROM prediction_rows "
                "GROUP BY session_id ORDER BY max(created_at)"
            ).fetchall()
        return [str(r[0]) for r in rows]

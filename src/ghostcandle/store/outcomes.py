"""The outcome table: one row per training sample, pending until its horizon closes.

A row is written ``pending`` when its sample is recorded (``insert_pending_in``, idempotent by
``sample_id``, kept by the writer: the table has no key, see migration 74; so it can ride in
the sample's own transaction) and flipped once, to
``validated`` with its figures or to ``expired``, by ``finish_in``: the update only touches rows
still pending, so a batch written twice (a retry after a crash) changes nothing the second time.
Rows carry symbol, timeframe and decision time, so an outcome is computed from the candles
alone, without the sample's table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ghostcandle.domain.outcomes import OutcomeStatus
from ghostcandle.store.db import Database
from ghostcandle.store.id_filters import CHUNKED, among, near_ids, pieces, slices

PENDING_FIELDS = (
    "sample_id", "frame_id", "symbol", "timeframe", "decision_time", "horizon", "known_at",
    "expires_at", "action_taken", "cost", "status", "created_at",
)  # fmt: skip
RESULT_FIELDS = (
    "ref_close", "forward_return", "mfe", "mae", "best_action", "best_profit", "taken_profit",
    "unit", "profitability", "is_profitable", "rapid_move",
)  # fmt: skip
#: the columns of a pending row not known yet, after ``PENDING_FIELDS`` in the table's order
UNKNOWN_YET = (*RESULT_FIELDS, "validated_at", "validator_id")
_TYPES: dict[str, pa.DataType] = {
    "decision_time": pa.int64(), "horizon": pa.int32(), "known_at": pa.int64(),
    "expires_at": pa.int64(), "cost": pa.float64(), "created_at": pa.int64(),
    "best_action": pa.string(), "is_profitable": pa.bool_(), "rapid_move": pa.bool_(),
    "validated_at": pa.int64(), "validator_id": pa.string(),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PendingOutcome:
    """A sample waiting for its horizon: what the validator needs, and nothing from the samples.

    ``known_at`` is when the last horizon candle closes; ``expires_at`` when the outcome is given
    up on if its candles are still not all stored. ``action_taken`` is ``HOLD``/``BUY``/``SELL``
    or None when no action was taken (a pivot, an annotation).
    """

    sample_id: str
    frame_id: str | None
    symbol: str
    timeframe: str
    decision_time: int
    horizon: int
    known_at: int
    expires_at: int
    action_taken: str | None
    cost: float
    status: str = OutcomeStatus.PENDING.value
    created_at: int = 0


@dataclass(frozen=True)
class OutcomeResults:
    """The figures of many validated outcomes, one column each (see ``domain.outcomes``).

    ``columns`` maps every name of ``RESULT_FIELDS`` to one value per sample, in the order of
    ``sample_ids``; ``best_action`` holds action names, ``taken_profit`` NaN where no action
    was taken (stored as NULL).
    """

    sample_ids: Sequence[str]
    columns: Mapping[str, Sequence[Any] | np.ndarray]

    def __len__(self) -> int:
        return len(self.sample_ids)


class OutcomeStore:
    """Read and write outcomes in a ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def insert_pending(self, rows: Sequence[PendingOutcome]) -> int:
        """Store new pending outcomes in one transaction; return how many were new."""
        with self.db.transaction() as con:
            return self.insert_pending_in(con, rows)

    def insert_pending_in(
        self, con: duckdb.DuckDBPyConnection, rows: Sequence[PendingOutcome]
    ) -> int:
        """Store pending outcomes inside an open transaction; a known ``sample_id`` is kept.

        The table has no key (migration 74): a row is inserted only where no outcome of its
        ``sample_id`` is stored in the batch's decision-time range (the sample's id hashes its
        decision time; the zone maps skip the rest), the first of a batch's repeats only.
        """
        first: dict[str, PendingOutcome] = {}
        for r in rows:
            first.setdefault(r.sample_id, r)
        rows = list(first.values())
        if not rows:
            return 0
        table = pa.table(
            {f: pa.array([getattr(r, f) for r in rows], type=_TYPES.get(f, pa.string()))
             for f in PENDING_FIELDS}
        )  # fmt: skip
        cols = ", ".join(PENDING_FIELDS)
        span = dict(zip(("lo", "hi"), _span(rows), strict=True))
        if len(rows) > CHUNKED:
            return _insert_absent(con, table, cols, span)
        # a live batch's rows: the stored ones among them read into Python by filters
        close = near_ids("decision_time", [r.decision_time for r in rows], len(rows))
        if close is not None:
            got = con.execute(f"SELECT sample_id FROM outcomes WHERE {close[0]}", close[1])
            stored = {str(r[0]) for r in got.fetchall()}
        else:
            stored = {
                str(r[0])
                for part in pieces(list(first))
                for r in con.execute(
                    "SELECT sample_id FROM outcomes WHERE decision_time BETWEEN $lo AND $hi "
                    f"AND {among('sample_id', 'ids', part)}",
                    {**span, "ids": part},
                ).fetchall()
            }
        keep = [r.sample_id not in stored for r in rows]
        if not any(keep):
            return 0
        table = table.filter(pa.array(keep))
        # appended by position (no view, no INSERT plan): the results not known yet are NULL
        n = table.num_rows
        empty = {f: pa.nulls(n, _TYPES.get(f, pa.float64())) for f in UNKNOWN_YET}
        full = pa.table({**dict(zip(PENDING_FIELDS, table.columns, strict=True)), **empty})
        con.from_arrow(full).insert_into("outcomes")
        return int(table.num_rows)

    def due(
        self, now: int, *, after: tuple[int, str] | None = None, limit: int = 1000
    ) -> list[PendingOutcome]:
        """Return pending outcomes whose horizon closed by ``now``, by ``(known_at, sample_id)``.

        ``after``: the last ``(known_at, sample_id)`` of the previous page (keyset paging).
        """
        cols = ", ".join(PENDING_FIELDS)
        where, params = "status = ? AND known_at <= ?", [OutcomeStatus.PENDING.value, now]
        if after is not None:
            where += " AND (known_at > ? OR (known_at = ? AND sample_id > ?))"
            params += [after[0], after[0], after[1]]
        with self.db.cursor() as cur:
            rows = cur.execute(
                f"SELECT {cols} FROM outcomes WHERE {where} ORDER BY known_at, sample_id LIMIT ?",
                [*params, limit],
            ).fetchall()
        return [PendingOutcome(*r) for r in rows]

    def next_known_at(self, after: int | None = None) -> int | None:
        """Return the earliest ``known_at`` of a pending outcome (later than ``after``), if any."""
        where = "status = ?"
        params: list[Any] = [OutcomeStatus.PENDING.value]
        if after is not None:
            where += " AND known_at > ?"
            params.append(after)
        with self.db.cursor() as cur:
            row = cur.execute(
                f"SELECT min(known_at) FROM outcomes WHERE {where}", params
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def finish_in(
        self,
        con: duckdb.DuckDBPyConnection,
        validated: OutcomeResults,
        expired: Sequence[str],
        *,
        at: int,
        validator_id: str,
        within: tuple[int, int] | None = None,
    ) -> int:
        """Flip still-pending rows to validated (with figures) or expired; return rows changed.

        ``within``: the decision-time range of these outcomes when the caller knows it (the
        validator's page of due rows): only that range is scanned.
        """
        changed = 0
        pending = OutcomeStatus.PENDING.value
        lo, hi = within or (-(2**62), 2**62)
        if len(validated):
            table = pa.table(
                {"sample_id": pa.array(list(validated.sample_ids), pa.string())}
                | {f: pa.array(validated.columns[f], type=_TYPES.get(f, pa.float64()),
                               from_pandas=True) for f in RESULT_FIELDS}
            )  # fmt: skip
            head = "UPDATE outcomes SET {}, status = $st, validated_at = $at, validator_id = $by"
            params: dict[str, Any] = {"st": OutcomeStatus.VALIDATED.value, "at": at}
            params |= {"by": validator_id, "lo": lo, "hi": hi, "pending": pending}
            if len(validated) <= CHUNKED:
                # each row's figures picked from list parameters by the id's position
                sets = ", ".join(
                    f"{c} = ${c}[list_position($ids, sample_id)]" for c in RESULT_FIELDS
                )
                columns = {c: table.column(c).to_pylist() for c in ("sample_id", *RESULT_FIELDS)}
                for cut in slices(len(validated)):
                    figures = {c: v[cut] for c, v in columns.items()}
                    figures["ids"] = figures.pop("sample_id")
                    got = con.execute(
                        f"{head.format(sets)} WHERE decision_time BETWEEN $lo AND $hi "
                        f"AND {among('sample_id', 'ids', figures['ids'])} AND status = $pending",
                        params | figures,
                    ).fetchall()
                    changed += int(got[0][0]) if got else 0
            else:
                con.register("gc_outcomes_done", table)
                try:
                    got = con.execute(
                        f"{head.format(', '.join(f'{c} = v.{c}' for c in RESULT_FIELDS))} "
                        "FROM gc_outcomes_done v WHERE outcomes.decision_time BETWEEN $lo AND $hi "
                        "AND outcomes.sample_id = v.sample_id AND outcomes.status = $pending",
                        params,
                    ).fetchall()
                finally:
                    con.unregister("gc_outcomes_done")
                changed += int(got[0][0]) if got else 0
        for part in pieces(list(expired)) if expired else ():
            got = con.execute(
                "UPDATE outcomes SET status = $st, validated_at = $at, validator_id = $by "
                f"WHERE decision_time BETWEEN $lo AND $hi AND {among('sample_id', 'ids', part)} "
                "AND status = $pending",
                {"st": OutcomeStatus.EXPIRED.value, "at": at, "by": validator_id, "lo": lo,
                 "hi": hi, "ids": part, "pending": pending},
            ).fetchall()  # fmt: skip
            changed += int(got[0][0]) if got else 0
        return changed

    def validated(
        self,
        *,
        as_of: int | None = None,
        symbol: str | None = None,
        timeframe: str | None = None,
    ) -> pd.DataFrame:
        """Return validated outcomes known by ``as_of`` (``known_at <= as_of``), oldest first.

        What a sampler at time ``as_of`` may weigh by: an outcome whose horizon had not closed
        then was not known then, even if it is validated now.
        """
        where = ["status = ?"]
        params: list[Any] = [OutcomeStatus.VALIDATED.value]
        for cond, value in (("known_at <= ?", as_of), ("symbol = ?", symbol),
                            ("timeframe = ?", timeframe)):  # fmt: skip
            if value is not None:
                where.append(cond)
                params.append(value)
        with self.db.cursor() as cur:
            df: pd.DataFrame = cur.execute(
                f"SELECT * FROM outcomes WHERE {' AND '.join(where)} ORDER BY known_at, sample_id",
                params,
            ).df()
        return df

    def get(self, sample_id: str) -> dict[str, Any] | None:
        """Return one outcome row as a dict, or None."""
        with self.db.cursor() as cur:
            df = cur.execute("SELECT * FROM outcomes WHERE sample_id = ?", [sample_id]).df()
        return None if df.empty else {str(k): _plain(v) for k, v in df.iloc[0].to_dict().items()}

    def counts(self) -> dict[str, int]:
        """Return how many outcomes are in each status."""
        with self.db.cursor() as cur:
            rows = cur.execute("SELECT status, count(*) FROM outcomes GROUP BY status").fetchall()
        return {str(s): int(n) for s, n in rows}


def _insert_absent(
    con: duckdb.DuckDBPyConnection, table: pa.Table, cols: str, span: dict[str, int]
) -> int:
    """Insert the rows of ``table`` whose ``sample_id`` is not stored in ``span`` (a batch)."""
    con.register("gc_outcomes_new", table)
    try:
        got = con.execute(
            f"INSERT INTO outcomes ({cols}) SELECT {cols} FROM gc_outcomes_new n "
            "WHERE NOT EXISTS (SELECT 1 FROM outcomes o WHERE o.decision_time BETWEEN $lo AND $hi "
            "AND o.sample_id = n.sample_id)",
            span,
        ).fetchall()
        return int(got[0][0]) if got else 0
    finally:
        con.unregister("gc_outcomes_new")


def _span(rows: Sequence[PendingOutcome]) -> list[int]:
    """Return the decision-time range of ``rows`` as ``[first, last]``."""
    times = [r.decision_time for r in rows]
    return [min(times), max(times)]


def _plain(v: Any) -> Any:
    """Turn a pandas/numpy scalar (or a missing value) into a plain Python value."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v

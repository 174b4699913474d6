"""One model's resolved predictions of one timeframe, as numpy arrays, a few columns at a time.

A stored session's evaluation (``engine.evaluation.stored_evaluation``) needs, per model and
timeframe, a handful of columns at once, never the whole ledger as one frame (a 1M-candle
replay's finest timeframe is a million rows: ~200MB as a frame of every column, strings as
Python objects). ``GroupColumns`` reads the columns asked for, in ranges of decision times
(``ledger_frames.decision_ranges``: DuckDB joins and sorts one range at a time), as float64,
int64 and bool arrays; names (symbol, action) come as codes: positions in lists given. The rows
are in the ledger frame's order (``ledger_frames.ORDER``: target time, symbol, decision time
within one model and timeframe); when the ranges read one after the other already are (a
replay's one-step-ahead predictions are), ``chunks`` hands them over a range at a time.

Every read goes through one cursor holding a read transaction (``snapshot``): DuckDB's MVCC
shows it the ledger as it was when the transaction began, so the columns read one after the
other are of the same rows while a live session goes on resolving and writing.

After each range, DuckDB's block cache is trimmed to ``Database.cache_keep``: a range's blocks
(both tables' columns, the join's ``prediction_id`` strings) are read once or twice an
evaluation, and kept they filled the cache towards its bound (a 1M-candle replay's summary:
~55-60 MB of it) while the arrays read from them were held too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import numpy as np

from ghostcandle.domain.errors import TemporaryError
from ghostcandle.store.db import Database
from ghostcandle.store.ledger_frames import CHUNK_ROWS, decision_ranges
from ghostcandle.store.predictions import OUTCOME_COLUMNS

#: coded names: the position of the name in the list given (``symbols``, ``actions``)
_CODES = {"symbol_code": ("symbol", "symbols"), "action_code": ("action", "actions")}
_CHANGED = "the session's ledger changed while it was read: evaluate it again"
_JOIN = (
    "SELECT {select} FROM (SELECT * FROM prediction_rows WHERE session_id = $sid AND "
    "timeframe = $tf{model} AND decision_time >= $lo AND decision_time < $hi) r "
    "JOIN (SELECT * FROM prediction_outcomes WHERE session_id = $sid AND status = 'resolved' "
    "AND decision_time >= $lo AND decision_time < $hi) o "
    "ON o.prediction_id = r.prediction_id AND o.decision_time = r.decision_time"
)


def _expr(column: str) -> str:
    if column in _CODES:
        name, names = _CODES[column]
        return f"list_position(${names}, r.{name}) - 1 AS {column}"
    return f"{'o' if column in OUTCOME_COLUMNS else 'r'}.{column} AS {column}"


@contextmanager
def snapshot(db: Database) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a cursor reading the database as it is now, whatever commits meanwhile."""
    with db.cursor() as cur:
        cur.begin()
        try:
            yield cur
        finally:
            cur.rollback()  # it only read


def resolved_names(
    db: Database, con: duckdb.DuckDBPyConnection, session_id: str, timeframe: str
) -> tuple[list[str], list[str], list[str]]:
    """Return the models, symbols and actions of a timeframe's resolved predictions, sorted.

    ``con`` is the evaluation's ``snapshot``.
    """
    params: dict[str, Any] = {"sid": session_id, "tf": timeframe}
    query = _JOIN.format(select="DISTINCT r.model, r.symbol, r.action", model="")
    found: set[tuple[str, str, str]] = set()
    ranges = decision_ranges(db, "session_id = $sid AND timeframe = $tf", params, con=con)
    for lo, hi in ranges:
        rows = con.execute(query, {**params, "lo": lo, "hi": hi}).fetchall()
        found.update((str(m), str(s), str(a)) for m, s, a in rows)
        db.trim_cache()
    return tuple(sorted({r[i] for r in found}) for i in range(3))  # type: ignore[return-value]


class GroupColumns:
    """One model's resolved predictions of one timeframe (see the module doc)."""

    def __init__(
        self,
        db: Database,
        con: duckdb.DuckDBPyConnection,
        session_id: str,
        timeframe: str,
        model: str,
        symbols: Sequence[str],
        actions: Sequence[str],
    ) -> None:
        self._con = con  # the evaluation's snapshot: every read sees the same rows
        self._db = db
        where = "session_id = $sid AND timeframe = $tf AND model = $model"
        self._params: dict[str, Any] = {"sid": session_id, "tf": timeframe, "model": model}
        self._ranges = decision_ranges(db, where, self._params, con=con)
        self._codes = {"symbols": list(symbols), "actions": list(actions)}
        self._order: np.ndarray | None = None
        #: the rows of each range, counted as the keys are checked
        self.n = 0
        keys = ("target_time", "symbol_code", "decision_time")
        in_order, last = True, None
        for part in self._parts(keys):
            cols = [part[c] for c in keys]
            self.n += len(cols[0])
            if in_order and len(cols[0]):
                # each range's rows, and the first after the last of the range before
                head = cols if last is None else _joined(last, cols)
                in_order = _non_decreasing(head)
                last = [c[-1:] for c in cols]
        if not in_order:  # stable: rows of equal keys keep the ranges' order
            k = self.read(keys)
            self._order = np.lexsort((k["decision_time"], k["symbol_code"], k["target_time"]))

    @property
    def in_ranges(self) -> bool:
        """Tell whether the ranges read one after the other are in the frame's order."""
        return self._order is None

    def _parts(self, columns: Sequence[str]) -> Iterator[dict[str, np.ndarray]]:
        query = (
            _JOIN.format(select=", ".join(_expr(c) for c in columns), model=" AND model = $model")
            + " ORDER BY r.target_time, r.symbol, r.decision_time"
        )
        coded = {_CODES[c][1] for c in columns if c in _CODES}
        params = {**self._params, **{k: self._codes[k] for k in coded}}
        for lo, hi in self._ranges:
            got = self._con.sql(query, params={**params, "lo": lo, "hi": hi}).fetchnumpy()
            self._db.trim_cache()
            yield {c: np.asarray(got[c]) for c in columns}

    def read(self, columns: Sequence[str]) -> dict[str, np.ndarray]:
        """Return ``columns`` of every row, in the frame's order.

        Each column is filled in place, a range after the other (no second copy of it).
        """
        out: dict[str, np.ndarray] = {}
        at = 0
        for part in self._parts(columns):
            k = len(part[columns[0]])
            if at + k > self.n:
                raise TemporaryError(_CHANGED)
            for c in columns:
                if c not in out:
                    out[c] = np.empty(self.n, part[c].dtype)
                out[c][at : at + k] = part[c]
            at += k
        if at != self.n:
            raise TemporaryError(_CHANGED)
        if self._order is None:
            return {c: out.get(c, np.empty(0)) for c in columns}
        return {c: out.pop(c)[self._order] for c in columns}

    def chunks(self, columns: Sequence[str]) -> Iterator[dict[str, np.ndarray]]:
        """Yield ``columns`` of the rows in the frame's order, a range (or ``CHUNK_ROWS``) at once.

        In order, only one range's rows are held at a time; else the columns are read whole.
        """
        if self._order is None:
            yield from self._parts(columns)
            return
        whole = self.read(columns)
        for lo in range(0, self.n, CHUNK_ROWS):
            yield {c: v[lo : lo + CHUNK_ROWS] for c, v in whole.items()}


def _non_decreasing(keys: Sequence[np.ndarray]) -> bool:
    """Tell whether rows of ``keys`` (columns, the first compared first) are in order."""
    ok = keys[-1][:-1] <= keys[-1][1:]
    for k in reversed(keys[:-1]):
        ok = (k[:-1] < k[1:]) | ((k[:-1] == k[1:]) & ok)
    return bool(ok.all())


def _joined(before: Sequence[np.ndarray], after: Sequence[np.ndarray]) -> list[np.ndarray]:
    return [np.r_[a, b] for a, b in zip(before, after, strict=True)]

"""Each stored series' span (first and last open time, row count), kept up to date cheaply.

What ``/api/status`` shows on every page load. ``CandleStore.series()`` also counts gaps, which
takes a window function over the whole ``candles`` table (hundreds of milliseconds at millions
of 1s candles); the span needs none. ``SeriesSpans`` reads it once with one aggregate, then,
on each call, only what was added since:

- the table's row count (read from its metadata) tells whether anything changed;
- if it grew, the rows after each series' known last open time are aggregated (``open_time``
  is the table's sort key in practice, so DuckDB skips the older row groups by their min/max);
- if those rows do not add up to the growth (a candle was written before a series' end, or a
  new series appeared), the whole aggregate is read again.

This rests on the table only growing: a stored candle is deleted only to be replaced by one of
the same key (``CandleStore``'s replace rule), which changes no span. Both reads of a call are
in one transaction, so a write in between cannot be half-seen.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import duckdb

from ghostcandle.domain.timeframes import TIMEFRAMES
from ghostcandle.store.db import Database

_FULL = (
    "SELECT symbol, timeframe, min(open_time), max(open_time), count(*) FROM candles "
    "GROUP BY symbol, timeframe"
)


@dataclass(frozen=True)
class SeriesSpan:
    """One stored series: its first and last open time and how many candles it holds."""

    symbol: str
    timeframe: str
    first_open_time: int
    last_open_time: int
    rows: int


class SeriesSpans:
    """The span of every stored series of one ``Database`` (thread-safe; see module doc)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._total = -1
        self._spans: dict[tuple[str, str], SeriesSpan] = {}
        #: how many calls read the whole table, and how many read only what was added (for tests
        #: and benches; the figures returned never depend on them)
        self.full_reads = 0
        self.delta_reads = 0

    def current(self) -> list[SeriesSpan]:
        """Return every series' span, ordered by symbol, then timeframe duration."""
        with self._lock, self.db.cursor() as cur:
            cur.begin()
            try:
                self._refresh(cur)
            finally:
                cur.rollback()  # read only: nothing to keep
            spans = list(self._spans.values())
        return sorted(spans, key=lambda s: (s.symbol, TIMEFRAMES.get(s.timeframe, 0), s.timeframe))

    def _refresh(self, cur: duckdb.DuckDBPyConnection) -> None:
        row = cur.execute("SELECT count(*) FROM candles").fetchone()
        total = int(row[0]) if row else 0
        if total == self._total:
            return
        if self._total >= 0 and total > self._total and self._spans and self._add_delta(cur, total):
            self._total = total
            return
        self._spans = {
            (str(r[0]), str(r[1])): SeriesSpan(
                str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4])
            )
            for r in cur.execute(_FULL).fetchall()
        }
        self._total = total
        self.full_reads += 1

    def _add_delta(self, cur: duckdb.DuckDBPyConnection, total: int) -> bool:
        """Fold in the rows after each series' end; False when they do not explain ``total``."""
        known = list(self._spans.values())
        floor = min(s.last_open_time for s in known)
        rows = cur.execute(
            """
            SELECT c.symbol, c.timeframe, min(c.open_time), max(c.open_time), count(*)
            FROM candles c
            JOIN (SELECT unnest($syms) AS symbol, unnest($tfs) AS timeframe,
                         unnest($lasts) AS last) k
              ON c.symbol = k.symbol AND c.timeframe = k.timeframe
            WHERE c.open_time > $floor AND c.open_time > k.last
            GROUP BY c.symbol, c.timeframe
            """,
            {
                "syms": [s.symbol for s in known],
                "tfs": [s.timeframe for s in known],
                "lasts": [s.last_open_time for s in known],
                "floor": floor,
            },
        ).fetchall()
        if sum(int(r[4]) for r in rows) != total - self._total:
            return False
        for r in rows:
            key = (str(r[0]), str(r[1]))
            old = self._spans[key]
            self._spans[key] = SeriesSpan(
                old.symbol, old.timeframe, old.first_open_time, int(r[3]), old.rows + int(r[4])
            )
        self.delta_reads += 1
        return True

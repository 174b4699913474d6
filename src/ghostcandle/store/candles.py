"""The candle store: idempotent bulk writes, refused conflicting rewrites, windows by reference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import cast

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ghostcandle.domain.candle_rows import SeriesRows
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import CANDLE_COLUMNS, VALUE_COLUMNS, Candle
from ghostcandle.domain.clock import Clock, LiveClock
from ghostcandle.domain.frames import FrameRef, frame_hash
from ghostcandle.domain.gaps import Gap, find_gaps
from ghostcandle.domain.timeframes import TIMEFRAMES, check_timeframe, duration_ms
from ghostcandle.domain.window import Window, WindowSpec
from ghostcandle.store.candle_records import (
    CONFLICT,
    NEW,
    REPLACE,
    SAME,
    SAME_ATOL,
    SAME_RTOL,
    FrameMismatchError,
    MissingCandlesError,
    Provenance,
    SeriesInfo,
    Verdict,
    WriteResult,
    arrow_batch,
    candle_table,
    check_unique,
)
from ghostcandle.store.candle_row_reads import RowRange, read_row_ranges
from ghostcandle.store.candle_writes import any_stored, classify_and_apply, classify_few
from ghostcandle.store.db import Database
from ghostcandle.store.id_filters import SMALL

__all__ = [
    "CONFLICT",
    "NEW",
    "REPLACE",
    "SAME",
    "SAME_ATOL",
    "SAME_RTOL",
    "CandleStore",
    "FrameMismatchError",
    "MissingCandlesError",
    "Provenance",
    "SeriesInfo",
    "Verdict",
    "WriteResult",
]

_COLS = ", ".join(CANDLE_COLUMNS)


class CandleStore:
    """Read and write candles in a ``Database``."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or LiveClock()

    # -- writes ---------------------------------------------------------------------------
    def write(
        self,
        symbol: str,
        timeframe: str,
        candles: pd.DataFrame,
        *,
        provenance: CandleSource,
        source: str = "",
    ) -> WriteResult:
        """Write validated candles in one transaction (see ``write_in``)."""
        with self.db.transaction() as con:
            return self.write_in(
                con, symbol, timeframe, candles, provenance=provenance, source=source
            )

    def write_in(
        self,
        con: duckdb.DuckDBPyConnection,
        symbol: str,
        timeframe: str,
        candles: pd.DataFrame | pa.Table,
        *,
        provenance: CandleSource,
        source: str = "",
    ) -> WriteResult:
        """Write candles (a frame or an Arrow table) inside an open transaction ``con``.

        ``candles`` must be validated and unique by ``open_time``; optional columns ``n_parts``
        and ``complete`` mark rolled-up candles. A stored complete candle with other values is
        never overwritten: the write is refused and logged in ``candle_conflicts``. A stored
        incomplete candle is replaced by one built from more parts. ``provenance`` names the
        path the candles came by; a candle already stored keeps the provenance it came with.
        """
        check_timeframe(timeframe)
        prov = CandleSource(provenance).value
        if len(candles) == 0:
            return WriteResult()
        staged = arrow_batch(candles)
        n = staged.num_rows
        times = staged.column("open_time")
        lo, hi = int(times[0].as_py()), int(times[n - 1].as_py())
        series = {"sym": symbol, "tf": timeframe, "src": source, "prov": prov}
        # the batch carries numbers only; the series' strings are bound as parameters
        rows = (
            f"SELECT $sym AS symbol, $tf AS timeframe, {_COLS}, n_parts, complete, $src AS source, "
            "$prov AS provenance FROM gc_staged"
        )
        con.register("gc_staged", staged)
        try:
            overlap = con.execute(
                "SELECT count(*) FROM candles "
                "WHERE symbol = $sym AND timeframe = $tf AND open_time BETWEEN $lo AND $hi",
                {"sym": symbol, "tf": timeframe, "lo": lo, "hi": hi},
            ).fetchone()
            if overlap is not None and overlap[0] == 0:
                # fast path: nothing stored in the range, so every row is new
                con.execute(f"INSERT INTO candles {rows}", series)
                return WriteResult(inserted=n, range_was_empty=True)
            counts = classify_and_apply(
                con,
                rows,
                "symbol = $sym AND timeframe = $tf AND open_time BETWEEN $lo AND $hi",
                {**series, "lo": lo, "hi": hi},
                self.clock.now_ms(),
            )
            conflict_times: list[int] = []
            if counts.get(CONFLICT):
                conflict_times = [
                    int(r[0])
                    for r in con.execute(
                        "SELECT open_time FROM gc_classified WHERE verdict = 'conflict' "
                        "ORDER BY open_time LIMIT 1000"
                    ).fetchall()
                ]
            con.execute("DROP TABLE gc_classified")
        finally:
            con.unregister("gc_staged")
        return WriteResult(
            inserted=int(counts.get(NEW, 0)),
            replaced=int(counts.get(REPLACE, 0)),
            duplicates=int(counts.get(SAME, 0)),
            conflicts=int(counts.get(CONFLICT, 0)),
            conflict_times=conflict_times,
        )

    def write_many(
        self,
        candles: Sequence[Candle],
        *,
        provenance: Provenance,
        source: str = "",
        newest: Mapping[tuple[str, str], int] | None = None,
    ) -> list[Verdict]:
        """Write closed candles of any series; return each candle's verdict (see ``write_many_in``).

        ``newest`` maps a series to the open time of its newest stored candle, as the caller
        knows it: when every candle is newer, they are inserted in one statement once a look at
        the batch's range (by the ``open_time`` zone maps) finds none of its series stored there;
        otherwise, and when the hint was wrong, the batch is classified candle by candle.
        """
        if not candles:
            return []
        with self.db.transaction() as con:
            if newest is not None and all(
                c.open_time > newest.get((c.symbol, c.timeframe), 2**62) for c in candles
            ):
                check_unique(candles)
                table = candle_table(candles, source, provenance)
                if not any_stored(con, table):
                    # a relation from Arrow, not register(): registering costs a catalog change
                    con.from_arrow(table).insert_into("candles")
                    return [NEW] * len(candles)
            return self.write_many_in(con, candles, provenance=provenance, source=source)

    def write_many_in(
        self,
        con: duckdb.DuckDBPyConnection,
        candles: Sequence[Candle],
        *,
        provenance: Provenance,
        source: str = "",
    ) -> list[Verdict]:
        """Write closed candles of any series inside ``con``; return each candle's verdict.

        ``candles`` must be validated and unique per series and open time. The rules are those
        of ``write_in``: ``new`` is inserted, ``same`` was already stored, ``replace`` replaced a
        stored incomplete candle, ``conflict`` was refused and logged in ``candle_conflicts``.
        ``provenance`` is one path for every candle or one per candle.
        """
        if not candles:
            return []
        check_unique(candles)
        if len(candles) <= SMALL:
            # a live write's few candles: classified without a join (see ``classify_few``)
            return classify_few(con, candle_table(candles, source, provenance), self.clock.now_ms())
        staged = candle_table(candles, source, provenance).append_column(
            "rn", pa.array(np.arange(len(candles), dtype=np.int64))
        )
        times = staged.column("open_time")
        bounds = {"lo": pc.min(times).as_py(), "hi": pc.max(times).as_py(), "src": source}
        rows = (
            f"SELECT symbol, timeframe, {_COLS}, n_parts, complete, $src AS source, provenance, "
            "rn FROM gc_staged"
        )
        con.register("gc_staged", staged)
        try:
            classify_and_apply(
                con, rows, "open_time BETWEEN $lo AND $hi", bounds, self.clock.now_ms()
            )
            verdicts = con.execute("SELECT verdict FROM gc_classified ORDER BY rn").fetchnumpy()[
                "verdict"
            ]
            con.execute("DROP TABLE gc_classified")
        finally:
            con.unregister("gc_staged")
        return [cast(Verdict, str(v)) for v in verdicts]

    # -- reads ----------------------------------------------------------------------------
    def read(
        self,
        symbol: str,
        timeframe: str,
        start: int | None = None,
        end: int | None = None,
        *,
        with_flags: bool = False,
    ) -> pd.DataFrame:
        """Return stored candles with ``start <= open_time <= end``, oldest first."""
        check_timeframe(timeframe)
        cols = _COLS + (", n_parts, complete" if with_flags else "")
        lo = -(2**62) if start is None else start
        hi = 2**62 if end is None else end
        with self.db.cursor() as cur:
            df: pd.DataFrame = cur.sql(
                f"SELECT {cols} FROM candles WHERE symbol = $s AND timeframe = $t "
                "AND open_time BETWEEN $lo AND $hi ORDER BY open_time",
                params={"s": symbol, "t": timeframe, "lo": lo, "hi": hi},
            ).df()
        return df

    def read_rows(
        self,
        symbol: str,
        timeframe: str,
        start: int,
        end: int,
        *,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> SeriesRows:
        """Return the stored rows with ``start <= open_time <= end`` with flags and provenance.

        What sample quality is judged on; pass ``con`` to read inside an open transaction.
        """
        return self.read_row_ranges([(symbol, timeframe, start, end)], con=con)[0]

    def read_row_ranges(
        self, ranges: Sequence[RowRange], *, con: duckdb.DuckDBPyConnection | None = None
    ) -> list[SeriesRows]:
        """Return ``read_rows`` of each ``(symbol, timeframe, start, end)``, in order, read
        together (``store.candle_row_reads``); pass ``con`` to read inside a transaction."""
        with nullcontext(con) if con is not None else self.db.cursor() as cur:
            return read_row_ranges(cur, ranges)

    def tail(self, symbol: str, timeframe: str, end_open_time: int, count: int) -> pd.DataFrame:
        """Return up to ``count`` stored candles with ``open_time <= end_open_time``."""
        start = end_open_time - (count - 1) * duration_ms(timeframe)
        return self.read(symbol, timeframe, start, end_open_time)

    def window(self, symbol: str, spec: WindowSpec, *, allow_incomplete: bool = True) -> Window:
        """Return exactly the ``spec.length`` candles ending at ``spec.end_open_time``.

        Raises ``MissingCandlesError`` naming every missing open time.
        """
        d = duration_ms(spec.timeframe)
        if spec.end_open_time % d:
            raise MissingCandlesError(symbol, spec.timeframe, [spec.end_open_time])
        with self.db.cursor() as cur:
            tbl = cur.execute(
                "SELECT open_time, open, high, low, close, volume, complete FROM candles "
                "WHERE symbol = ? AND timeframe = ? AND open_time BETWEEN ? AND ?",
                [symbol, spec.timeframe, spec.start_open_time, spec.end_open_time],
            ).fetchnumpy()
        open_time = np.asarray(tbl["open_time"], dtype=np.int64)
        if len(open_time) > 1 and not bool(np.all(open_time[1:] > open_time[:-1])):
            # rows come back in insertion order, which is time order unless written out of order;
            # sorting here is cheaper than an ORDER BY on every read
            order = np.argsort(open_time, kind="stable")
            tbl = {k: np.asarray(v)[order] for k, v in tbl.items()}
            open_time = open_time[order]
        if len(open_time) != spec.length:
            expected = spec.open_times()
            missing = np.setdiff1d(expected, open_time).tolist()
            raise MissingCandlesError(symbol, spec.timeframe, [int(t) for t in missing])
        if not allow_incomplete and not bool(np.all(tbl["complete"])):
            bad = open_time[~np.asarray(tbl["complete"], dtype=bool)].tolist()
            raise MissingCandlesError(symbol, spec.timeframe, [int(t) for t in bad])
        values = np.column_stack([np.asarray(tbl[c], dtype=np.float64) for c in VALUE_COLUMNS])
        return Window(symbol, spec, open_time, values)

    def materialise(self, ref: FrameRef) -> list[Window]:
        """Re-read the windows of ``ref``; raise ``FrameMismatchError`` if the hash differs."""
        windows = [self.window(ref.symbol, spec) for spec in ref.windows]
        if ref.input_hash and frame_hash(windows) != ref.input_hash:
            raise FrameMismatchError(
                f"frame {ref.frame_id} no longer matches its recorded input hash: "
                "its candles were changed after the prediction"
            )
        return windows

    def last_open_time(self, symbol: str, timeframe: str) -> int | None:
        """Return the open time of the newest stored candle of the series, if any."""
        with self.db.cursor() as cur:
            row = cur.execute(
                "SELECT max(open_time) FROM candles WHERE symbol = ? AND timeframe = ?",
                [symbol, timeframe],
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def gaps(
        self,
        symbol: str,
        timeframe: str,
        start: int | None = None,
        end: int | None = None,
        *,
        con: duckdb.DuckDBPyConnection | None = None,
    ) -> list[Gap]:
        """Return the gaps between stored candles of the series in the range.

        Pass ``con`` to read inside an open transaction.
        """
        lo = -(2**62) if start is None else start
        hi = 2**62 if end is None else end
        # a cursor of our own is closed after; the caller's transaction stays open
        with nullcontext(con) if con is not None else self.db.cursor() as cur:
            t = cur.execute(
                "SELECT open_time FROM candles WHERE symbol = ? AND timeframe = ? "
                "AND open_time BETWEEN ? AND ? ORDER BY open_time",
                [symbol, timeframe, lo, hi],
            ).fetchnumpy()["open_time"]
        return find_gaps(np.asarray(t, dtype=np.int64), timeframe)

    def series(self) -> list[SeriesInfo]:
        """Return an overview of every stored series."""
        with self.db.cursor() as cur:
            rows = cur.execute(
                """
                SELECT symbol, timeframe, min(open_time), max(open_time), count(*),
                       count(*) FILTER (WHERE step > dur),
                       coalesce(sum(step // dur - 1) FILTER (WHERE step > dur), 0),
                       count(*) FILTER (WHERE NOT complete)
                FROM (
                    SELECT symbol, timeframe, open_time, complete, dur,
                           open_time - lag(open_time) OVER (
                               PARTITION BY symbol, timeframe ORDER BY open_time) AS step
                    FROM candles JOIN (SELECT unnest($names) AS tf, unnest($durs) AS dur) d
                      ON d.tf = candles.timeframe
                )
                GROUP BY symbol, timeframe ORDER BY symbol, min(dur), timeframe
                """,
                {"names": list(TIMEFRAMES), "durs": list(TIMEFRAMES.values())},
            ).fetchall()
        return [SeriesInfo(str(r[0]), str(r[1]), *(int(x) for x in r[2:])) for r in rows]

    def conflicts_count(self) -> int:
        """Return how many conflicting rewrites have been refused so far."""
        with self.db.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM candle_conflicts").fetchone()
        return int(row[0]) if row else 0

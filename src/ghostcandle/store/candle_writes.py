"""The candle write rules in SQL: classify a batch against the stored candles in its range.

``store.candles.CandleStore`` calls these inside its transaction; the ``candles`` table has no
key (migration 3), so these are what keep (symbol, timeframe, open_time) unique.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ghostcandle.domain.candles import CANDLE_COLUMNS, VALUE_COLUMNS
from ghostcandle.store.candle_records import (
    CONFLICT,
    NEW,
    REPLACE,
    SAME,
    SAME_ATOL,
    SAME_RTOL,
    SAME_VALUES_SQL,
    Verdict,
)
from ghostcandle.store.id_filters import series_rows

_COLS = ", ".join(CANDLE_COLUMNS)


def classify_and_apply(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    stored_filter: str,
    params: dict[str, object],
    now_ms: int,
) -> dict[str, int]:
    """Classify the ``rows`` query into ``gc_classified`` and apply the verdicts.

    The write rules in SQL (``classify_few`` applies the same ones in Python to a live
    write's few candles, without a join), and what keeps (symbol, timeframe, open_time) unique:
    the table has no key (migration 3). ``stored_filter`` narrows the stored candles that can
    match to the batch's range, on the classifying read and on the delete, so DuckDB skips
    the row groups outside it by their ``open_time`` zone maps. Returns the count of each
    verdict; the caller drops ``gc_classified``. Refused candles are logged at ``now_ms``.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE gc_classified AS
        SELECT s.*,
            CASE
                WHEN c.open_time IS NULL THEN 'new'
                WHEN {SAME_VALUES_SQL} AND c.complete >= s.complete THEN 'same'
                WHEN NOT c.complete AND (s.complete OR coalesce(s.n_parts, 0)
                     > coalesce(c.n_parts, 0)) THEN 'replace'
                WHEN NOT c.complete THEN 'same'
                ELSE 'conflict'
            END AS verdict
        FROM ({rows}) s
        LEFT JOIN (SELECT * FROM candles WHERE {stored_filter}) c
          ON c.symbol = s.symbol AND c.timeframe = s.timeframe
         AND c.open_time = s.open_time
        """,
        params,
    )
    counts: dict[str, int] = {
        str(k): int(v)
        for k, v in con.execute(
            "SELECT verdict, count(*) FROM gc_classified GROUP BY verdict"
        ).fetchall()
    }
    if counts.get(CONFLICT):
        con.execute(
            f"""INSERT INTO candle_conflicts
            SELECT symbol, timeframe, {_COLS}, source, ?, provenance FROM gc_classified
            WHERE verdict = 'conflict'""",
            [now_ms],
        )
    if counts.get(REPLACE):
        con.execute(
            f"""DELETE FROM candles WHERE {stored_filter} AND EXISTS (
                SELECT 1 FROM gc_classified s WHERE s.verdict = 'replace'
                  AND s.symbol = candles.symbol AND s.timeframe = candles.timeframe
                  AND s.open_time = candles.open_time)""",
            {k: params[k] for k in set(re.findall(r"\$(\w+)", stored_filter))},
        )
    if counts.get(NEW) or counts.get(REPLACE):
        con.execute(
            f"""INSERT INTO candles
            SELECT symbol, timeframe, {_COLS}, n_parts, complete, source, provenance
            FROM gc_classified WHERE verdict IN ('new', 'replace') ORDER BY open_time"""
        )
    return counts


def any_stored(con: duckdb.DuckDBPyConnection, table: pa.Table) -> bool:
    """Tell whether a stored candle of the batch's series lies in the batch's time range."""
    times = table.column("open_time")
    rows = con.execute(
        "SELECT count(*) FROM (SELECT 1 FROM candles WHERE open_time BETWEEN $lo AND $hi "
        "AND list_contains($syms, symbol) AND list_contains($tfs, timeframe) LIMIT 1)",
        {
            "lo": pc.min(times).as_py(),
            "hi": pc.max(times).as_py(),
            "syms": pc.unique(table.column("symbol")).to_pylist(),
            "tfs": pc.unique(table.column("timeframe")).to_pylist(),
        },
    ).fetchall()
    return int(rows[0][0]) > 0


def classify_few(con: duckdb.DuckDBPyConnection, staged: pa.Table, now_ms: int) -> list[Verdict]:
    """Classify and apply a few candles of any series (``candle_table`` rows) as
    ``classify_and_apply`` does; return each one's verdict, in order.

    The stored candles among them are read by filters and classified here: the join's hash
    table leaves nodes in DuckDB's memory at every live write (``store.id_filters``).
    """
    rows = staged.to_pylist()
    times = [r["open_time"] for r in rows]
    stored: dict[tuple[str, str, int], tuple[Any, ...]] = {}
    keys = [(r["symbol"], r["timeframe"], r["open_time"]) for r in rows]
    cols = ("symbol", "timeframe", "open_time", *VALUE_COLUMNS, "n_parts", "complete")
    for c in series_rows(con, "candles", cols, keys):
        stored.setdefault((c[0], c[1], c[2]), c[3:])
    verdicts = [
        _verdict(r, stored.get((r["symbol"], r["timeframe"], r["open_time"]))) for r in rows
    ]
    conflicts = staged.filter(pa.array([v == CONFLICT for v in verdicts]))
    if conflicts.num_rows:
        logged = conflicts.select(["symbol", "timeframe", *CANDLE_COLUMNS, "source"])
        logged = logged.append_column("refused_at", pa.array([now_ms] * conflicts.num_rows))
        con.from_arrow(
            logged.append_column("provenance", conflicts.column("provenance"))
        ).insert_into("candle_conflicts")
    replaced = [r for r, v in zip(rows, verdicts, strict=True) if v == REPLACE]
    if replaced:
        con.execute(
            "DELETE FROM candles WHERE open_time BETWEEN $lo AND $hi AND list_contains($keys, "
            "symbol || chr(0) || timeframe || chr(0) || CAST(open_time AS VARCHAR))",
            {
                "lo": min(times),
                "hi": max(times),
                "keys": [f"{r['symbol']}\0{r['timeframe']}\0{r['open_time']}" for r in replaced],
            },
        )
    written = staged.filter(pa.array([v in (NEW, REPLACE) for v in verdicts]))
    if written.num_rows:
        con.from_arrow(written.sort_by("open_time")).insert_into("candles")
    return verdicts


def _verdict(s: Mapping[str, Any], c: tuple[Any, ...] | None) -> Verdict:
    """Return the verdict ``classify_and_apply``'s CASE gives staged row ``s`` against ``c``."""
    if c is None:
        return NEW
    n = len(VALUE_COLUMNS)
    values, c_parts, c_complete = c[:n], c[n], bool(c[n + 1])
    s_parts, s_complete = s["n_parts"], bool(s["complete"])
    same = all(
        abs(float(cv) - float(sv)) <= SAME_ATOL + SAME_RTOL * abs(float(sv))
        for cv, sv in zip(values, (s[v] for v in VALUE_COLUMNS), strict=True)
    )
    if same and c_complete >= s_complete:
        return SAME
    if not c_complete and (s_complete or int(s_parts or 0) > int(c_parts or 0)):
        return REPLACE
    return SAME if not c_complete else CONFLICT

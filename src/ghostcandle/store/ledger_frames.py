"""A long stretch of the prediction ledger as a DataFrame, read a range of decision times at once.

The ``predictions`` view joins every row with its outcome. Read over a whole session (a
200,000-candle replay makes ~1M predictions) in one query, DuckDB hash-joins every outcome and
sorts every row, and that needs more memory than a process's bound (``store.db``): at 128MB a
1M-prediction ledger ran out. Here each range of decision times, of about ``CHUNK_ROWS``
predictions (the ranges are approximate quantiles of the decision times), joins only the
outcomes of its range (an outcome is stored with its prediction's decision time) and is sorted
on its own; pandas puts the ranges' rows in order. DuckDB's working memory is that of one range,
however long the ledger.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from ghostcandle.store.db import Database

#: predictions joined and sorted by one query: its sorted rows are held in DuckDB's memory
#: (~300 bytes a row, all columns; 200,000 did not fit a 64MB bound, 50,000 do with room)
CHUNK_ROWS = 50_000
#: the order of the rows read: by target, then one row per model, symbol and timeframe
ORDER: tuple[str, ...] = ("target_time", "model", "symbol", "timeframe", "decision_time")
PENDING = "pending"


def _ranges(db: Database, where: str, params: dict[str, Any]) -> list[tuple[int, int]]:
    """Return half-open ranges ``[lo, hi)`` of decision times, ``CHUNK_ROWS`` rows or so each."""
    with db.cursor() as cur:
        row = cur.execute(
            f"SELECT count(*), min(decision_time), max(decision_time) FROM prediction_rows "
            f"WHERE {where}",
            params,
        ).fetchone()
        n, first, last = row if row else (0, None, None)
        if not n or first is None or last is None:
            return [(0, 0)]
        cuts = [int(first), int(last) + 1]
        parts = math.ceil(int(n) / CHUNK_ROWS)
        if parts > 1:
            qs = [i / parts for i in range(1, parts)]
            found = cur.execute(
                "SELECT approx_quantile(decision_time, $qs::FLOAT[]) FROM prediction_rows "
                f"WHERE {where}",
                {**params, "qs": qs},
            ).fetchone()
            cuts += [int(t) for t in (found[0] if found else [])]
    bounds = sorted(set(cuts))
    return list(itertools.pairwise(bounds))


def read_frame(
    db: Database,
    exprs: Mapping[str, str],
    columns: Sequence[str],
    statuses: Iterable[str],
    session_id: str | None,
) -> pd.DataFrame:
    """Return the ledger's ``columns`` of ``statuses`` (of one session, or all), in ``ORDER``.

    ``exprs`` gives each column's expression over ``r`` (``prediction_rows``) and ``o``
    (``prediction_outcomes``), as the ``predictions`` view selects it.
    """
    wanted = list(statuses)
    extra = [k for k in ORDER if k not in columns]
    select = ", ".join(f"{exprs[c]} AS {c}" for c in [*columns, *extra])
    params: dict[str, Any] = {"st": wanted}
    mine = ""
    if session_id:
        mine, params["sid"] = "session_id = $sid AND ", session_id
    in_range = "decision_time >= $lo AND decision_time < $hi"
    rows = f"SELECT * FROM prediction_rows WHERE {mine}{in_range}"
    outcomes = f"SELECT * FROM prediction_outcomes WHERE {mine}{in_range}"
    if PENDING in wanted:  # rows without an outcome are pending: every row, then the filter
        join, keep = "LEFT JOIN", f"WHERE {exprs['status']} IN (SELECT unnest($st))"
    else:  # only rows with an outcome of those statuses
        join, keep = "JOIN", ""
        outcomes += " AND status IN (SELECT unnest($st))"
    query = (
        f"SELECT {select} FROM ({rows}) r {join} ({outcomes}) o "
        "ON o.prediction_id = r.prediction_id AND o.decision_time = r.decision_time "
        f"{keep} ORDER BY {', '.join(ORDER)}"
    )
    parts: list[pd.DataFrame] = []
    whose = {"sid": session_id} if session_id else {}
    for lo, hi in _ranges(db, f"{mine}TRUE", whose):
        with db.cursor() as cur:
            parts.append(cur.execute(query, {**params, "lo": lo, "hi": hi}).df())
    df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if len(parts) > 1:  # each range is in order; a target can be predicted from two ranges
        df = df.sort_values(list(ORDER), kind="stable", ignore_index=True)
    return df.drop(columns=extra) if extra else df

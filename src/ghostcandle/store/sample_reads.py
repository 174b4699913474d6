"""Reads of stored samples and frames by id, for the sample store's writes and reads.

Each is a read by filters, joined here: samples near the decision times asked for
(``id_filters.near_ids``), else ``id_filters.SMALL`` ids a query; a join (or ``IN (SELECT
...)``) of a live batch's ids builds a hash table, which leaves nodes in DuckDB's memory (see
``id_filters``).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.samples import Sample
from ghostcandle.store.id_filters import among, near_ids, pieces
from ghostcandle.store.sample_rows import COLUMNS, FRAME_COLUMNS, frame_from_row, sample_from_row
from ghostcandle.store.sample_writes import EVER


def find_samples(
    cur: duckdb.DuckDBPyConnection,
    sample_ids: Sequence[str],
    *,
    within: tuple[int, int] | None = None,
    times: Sequence[int] | None = None,
) -> list[Sample]:
    """Return the stored samples among ``sample_ids`` (decision time ``within``, if given).

    The table has no key: ``within`` lets the zone maps of ``decision_time`` skip the rest;
    ``times`` (each id's decision time) reads the samples near them instead of matching ids
    (``id_filters.near_ids``). Their frames are matched by ids: every model's frame of an
    instant is in that table (~40 rows a tick for each frame asked).
    """
    if not sample_ids:
        return []
    ids = list(dict.fromkeys(sample_ids))
    cols = ", ".join(COLUMNS)
    close = None if times is None else near_ids("decision_time", times, len(ids))
    if close is not None:  # every sample of those instants: keep those asked for
        wanted = set(ids)
        got = cur.execute(f"SELECT {cols} FROM training_samples WHERE {close[0]}", close[1])
        rows = [r for r in got.fetchall() if r[0] in wanted]
    else:
        lo, hi = within or EVER
        rows = [
            r
            for part in pieces(ids)
            for r in cur.execute(
                f"SELECT {cols} FROM training_samples "
                f"WHERE decision_time BETWEEN $lo AND $hi AND {among('sample_id', 'ids', part)}",
                {"ids": part, "lo": lo, "hi": hi},
            ).fetchall()
        ]
    at, fid = COLUMNS.index("decision_time"), COLUMNS.index("frame_id")
    frames: dict[tuple[object, object], tuple[object, ...]] = {}
    if rows:
        fids = list(dict.fromkeys(r[fid] for r in rows))
        span = {"lo": min(r[at] for r in rows), "hi": max(r[at] for r in rows)}
        for part in pieces(fids):
            for f in cur.execute(
                f"SELECT f.frame_id, f.decision_time, {FRAME_COLUMNS} FROM frames f "
                f"WHERE f.decision_time BETWEEN $lo AND $hi AND {among('f.frame_id', 'ids', part)}",
                {"ids": part, **span},
            ).fetchall():
                frames.setdefault((f[0], f[1]), tuple(f[2:]))
    none = (None,) * (FRAME_COLUMNS.count(",") + 1)
    by_id: dict[str, Sample] = {}
    for r in rows:
        found = frames.get((r[fid], r[at]), none)
        by_id.setdefault(str(r[0]), sample_from_row((*r, *found)))
    return [by_id[i] for i in ids if i in by_id]


def find_frames(cur: duckdb.DuckDBPyConnection, given: Sequence[FrameRef]) -> dict[str, FrameRef]:
    """Return the stored frames among ``given`` (their hashes are the reference).

    A frame's id hashes its decision time, so only the given decision-time range is read.
    """
    if not given:
        return {}
    times = [f.decision_time for f in given]
    ids = list({f.frame_id: 0 for f in given})
    lo, hi = min(times), max(times)
    out: dict[str, FrameRef] = {}
    for part in pieces(ids):
        out |= _frames(cur, part, lo, hi)
    return out


def _frames(
    cur: duckdb.DuckDBPyConnection, ids: Sequence[str], lo: int, hi: int
) -> dict[str, FrameRef]:
    """Return the stored frames among ``ids`` (distinct) decided in ``[lo, hi]``."""
    rows = cur.execute(
        "SELECT frame_id, symbol, decision_time, model, model_version, target_time, "
        "windows, norm_params, input_hash FROM frames "
        f"WHERE decision_time BETWEEN $lo AND $hi AND {among('frame_id', 'ids', ids)}",
        {"lo": lo, "hi": hi, "ids": ids},
    ).fetchall()
    out: dict[str, FrameRef] = {}
    for r in rows:
        out.setdefault(str(r[0]), frame_from_row(str(r[0]), *r[1:]))
    return out

"""Writes of ``training_samples`` rows: no key (migration 74), the one writer keeps ids unique.

``SampleStore`` looks up the ids of a batch among the stored samples of the batch's decision-time
range (a sample's id hashes its frame's id, which hashes the decision time) inside the writer's
transaction, and inserts only those not found; an update of samples by id is one statement,
restricted to their decision-time range when the caller knows it, so the zone maps of
``decision_time`` skip the rest of the table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from ghostcandle.domain.samples import NewSample, Sample
from ghostcandle.store.id_filters import CHUNKED, among, slices
from ghostcandle.store.sample_rows import sample_table

#: the whole time axis: an update whose caller does not know the samples' times
EVER = (-(2**62), 2**62)


def decision_span(samples: Sequence[NewSample | Sample]) -> tuple[int, int] | None:
    """Return the decision-time range of ``samples`` (None for none)."""
    times = [s.frame.decision_time for s in samples]
    return (min(times), max(times)) if times else None


def insert_samples(con: duckdb.DuckDBPyConnection, samples: Sequence[Sample]) -> None:
    """Insert ``samples``, each new and once (the caller looked their ids up in ``con``)."""
    if not samples:
        return
    # COLUMNS are the table's, in its order: appended as a relation (no view, no INSERT plan)
    con.from_arrow(sample_table(samples)).insert_into("training_samples")


def update_samples(
    con: duckdb.DuckDBPyConnection,
    table: pa.Table,
    sets: str,
    params: dict[str, object],
    within: tuple[int, int] | None,
) -> None:
    """Apply ``sets`` (``v.<column>`` is ``table``'s, by ``sample_id``; ``$name`` a parameter
    of ``params``) to those samples, in ``within``.

    A live batch's rows (up to ``id_filters.CHUNKED``) are updated by filters, ``SMALL`` a
    statement, each row's values picked from list parameters by its id's position: a join's
    hash table leaves nodes in DuckDB's memory.
    """
    lo, hi = within or EVER
    ids = table.column("sample_id").to_pylist()
    if len(ids) <= CHUNKED:
        values = {c: table.column(c).to_pylist() for c in table.column_names if c != "sample_id"}
        for c in values:  # whole names only: ``v.reason`` never rewrites ``v.reasons``
            sets = re.sub(rf"\bv\.{c}\b", f"$v_{c}[list_position($ids, sample_id)]", sets)
        for part in slices(len(ids)):
            con.execute(
                f"UPDATE training_samples SET {sets} WHERE decision_time BETWEEN $lo AND $hi "
                f"AND {among('sample_id', 'ids', ids[part])}",
                {**params, **{f"v_{c}": v[part] for c, v in values.items()},
                 "ids": ids[part], "lo": lo, "hi": hi},
            )  # fmt: skip
        return
    con.register("gc_sample_updates", table)
    try:
        con.execute(
            f"UPDATE training_samples SET {sets} FROM gc_sample_updates v "
            "WHERE training_samples.decision_time BETWEEN $lo AND $hi "
            "AND training_samples.sample_id = v.sample_id",
            {**params, "lo": lo, "hi": hi},
        )
    finally:
        con.unregister("gc_sample_updates")


@dataclass
class SampleWrites:
    """Sample rows judged now and written later, in order, in one transaction.

    What ``SampleStore.record_verified_in`` writes when given a ``plan``: the frames to
    register, the samples to insert and the quarantines (reasons, time, decision-time range),
    kept in the order they were decided (``SampleStore.write_in`` applies them).
    """

    frames: list[tuple[object, ...]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    quarantines: list[tuple[dict[str, str], int, tuple[int, int] | None]] = field(
        default_factory=list
    )

    def __bool__(self) -> bool:
        return bool(self.frames or self.samples or self.quarantines)

    def extend(self, other: SampleWrites) -> None:
        """Append ``other``'s writes after these."""
        self.frames.extend(other.frames)
        self.samples.extend(other.samples)
        self.quarantines.extend(other.quarantines)

"""Training-data quality at a glance: samples by source and status, completeness, what went bad.

Read-only: a database whose schema predates the samples (or the outcomes) answers with empty
sections and a note instead of an error. The top profitable setups are the validated outcomes
(``outcomes``, written by the outcome validator) with the highest profitability, of samples not
quarantined.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ghostcandle.domain.samples import SampleStatus
from ghostcandle.store.db import Database

#: Completeness histogram bins: [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0] (1.0 in the last).
BINS = 10
QUARANTINE_SHOWN = 20
SETUPS_SHOWN = 10
_SETUP_COLUMNS = ("status", "profitability", "forward_return", "best_action", "taken_profit")


@dataclass(frozen=True)
class SampleStats:
    """What ``ghostcandle samples stats`` shows."""

    total: int = 0
    #: source -> status -> count
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    #: samples per completeness bin (``BINS`` bins)
    histogram: list[int] = field(default_factory=lambda: [0] * BINS)
    #: samples left out, by status and reason kind (the reason's text before its first colon)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    #: the newest quarantined samples with their reasons
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    top_setups: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return the stats as one JSON-ready object."""
        return {
            "total": self.total,
            "by_source": self.by_source,
            "by_status": self.by_status(),
            "completeness_histogram": [
                {"from": k / BINS, "to": (k + 1) / BINS, "samples": n}
                for k, n in enumerate(self.histogram)
            ],
            "left_out_by_reason": self.reasons,
            "quarantined": self.quarantined,
            "top_profitable_setups": self.top_setups,
            "notes": self.notes,
        }

    def by_status(self) -> dict[str, int]:
        """Return the sample count of every status."""
        out = {s.value: 0 for s in SampleStatus}
        for counts in self.by_source.values():
            for status, n in counts.items():
                out[status] = out.get(status, 0) + n
        return out


def _has_table(cur: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    """Return the columns of table ``name`` (empty if it does not exist)."""
    rows = cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
    ).fetchall()
    return {str(r[0]) for r in rows}


def sample_stats(db: Database) -> SampleStats:
    """Return the quality overview of the database's training samples."""
    with db.cursor() as cur:
        if not _has_table(cur, "training_samples"):
            return SampleStats(
                notes=[
                    f"no training samples table (schema v{db.schema_version()}): open the "
                    "database once with a current ghostcandle to migrate it"
                ]
            )
        by_source: dict[str, dict[str, int]] = {}
        for source, status, n in cur.execute(
            "SELECT source, status, count(*) FROM training_samples GROUP BY ALL ORDER BY ALL"
        ).fetchall():
            by_source.setdefault(str(source), {})[str(status)] = int(n)
        hist = [0] * BINS
        for b, n in cur.execute(
            "SELECT least(floor(completeness * $bins), $bins - 1)::INTEGER, count(*) "
            "FROM training_samples GROUP BY ALL",
            {"bins": BINS},
        ).fetchall():
            hist[max(0, int(b))] = int(n)
        reasons = [
            {"status": str(st), "reason": str(kind), "samples": int(n)}
            for st, kind, n in cur.execute(
                "SELECT status, split_part(reason, ':', 1), count(*) FROM training_samples "
                "WHERE status <> 'ok' GROUP BY ALL ORDER BY 3 DESC, 1, 2"
            ).fetchall()
        ]
        quarantined = [
            {
                "sample_id": str(r[0]),
                "source": str(r[1]),
                "symbol": str(r[2]),
                "timeframe": str(r[3]),
                "decision_time": int(r[4]),
                "reason": str(r[5]),
                "quarantined_at": int(r[6]),
            }
            for r in cur.execute(
                "SELECT sample_id, source, symbol, timeframe, decision_time, reason, status_at "
                "FROM training_samples WHERE status = 'quarantined' "
                "ORDER BY status_at DESC, sample_id LIMIT ?",
                [QUARANTINE_SHOWN],
            ).fetchall()
        ]
        setups, notes = _top_setups(cur)
    return SampleStats(
        total=sum(sum(c.values()) for c in by_source.values()),
        by_source=by_source,
        histogram=hist,
        reasons=reasons,
        quarantined=quarantined,
        top_setups=setups,
        notes=notes,
    )


def _top_setups(cur: duckdb.DuckDBPyConnection) -> tuple[list[dict[str, Any]], list[str]]:
    """Return the most profitable validated samples, or none and a note saying why."""
    columns = _has_table(cur, "outcomes")
    if not set(_SETUP_COLUMNS) <= columns:
        return [], ["no outcomes validated yet: the outcome validator fills the top setups"]
    rows = cur.execute(
        "SELECT s.sample_id, s.source, s.symbol, s.timeframe, s.decision_time, s.label, "
        "s.labels, o.best_action, o.forward_return, o.taken_profit, o.profitability "
        "FROM outcomes o JOIN training_samples s ON s.sample_id = o.sample_id "
        "WHERE o.status = 'validated' AND s.status <> 'quarantined' "
        "AND o.profitability IS NOT NULL ORDER BY o.profitability DESC, s.sample_id LIMIT ?",
        [SETUPS_SHOWN],
    ).fetchall()
    setups = [
        {
            "sample_id": str(r[0]),
            "source": str(r[1]),
            "symbol": str(r[2]),
            "timeframe": str(r[3]),
            "decision_time": int(r[4]),
            "label": int(r[5]),
            "labels": json.loads(str(r[6])),
            "best_action": None if r[7] is None else str(r[7]),
            "forward_return": None if r[8] is None else float(r[8]),
            "taken_profit": None if r[9] is None else float(r[9]),
            "profitability": float(r[10]),
        }
        for r in rows
    ]
    notes = [] if setups else ["no outcome of a sample is validated yet"]
    return setups, notes

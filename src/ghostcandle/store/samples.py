"""The sample store: training samples by reference, judged when recorded, verified when read.

A sample row names its frame (a row of ``frames``, registered with the sample), its source,
label(s), priority, quality (``domain.sample_quality``) and status. Recording reads the frame's
windows once, judges them and checks them against the frame's input hash. Reading
(``verify``) re-reads the windows of every sample asked for (``FrameRows``: one query per
series and cluster) and compares the hash again; a sample whose candles changed is quarantined
with its reason, committed, and never returned as trainable again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import duckdb
import pyarrow as pa

from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.sample_quality import QualityRules
from ghostcandle.domain.samples import NewSample, Sample, SampleSource, SampleStatus
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore, frame_row
from ghostcandle.store.sample_reads import find_frames, find_samples
from ghostcandle.store.sample_rows import (
    sample_from_new,
)
from ghostcandle.store.sample_windows import FrameRows, FramesRead
from ghostcandle.store.sample_writes import (
    SampleWrites,
    decision_span,
    insert_samples,
    update_samples,
)


@dataclass(frozen=True)
class Verified:
    """What one read of samples found, in the order asked.

    ``quarantined`` are those this read found changed; ``held`` those quarantined before;
    ``excluded`` those the reader's rules refuse; ``missing`` the ids not stored.
    """

    trainable: list[Sample] = field(default_factory=list)
    quarantined: list[Sample] = field(default_factory=list)
    held: list[Sample] = field(default_factory=list)
    excluded: list[Sample] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def left_out(self) -> list[Sample]:
        """Return every sample found that may not be trained on."""
        return [*self.quarantined, *self.held, *self.excluded]


class SampleStore:
    """Record, read and verify training samples in a ``Database``."""

    def __init__(self, db: Database, candles: CandleStore | None = None) -> None:
        self.db = db
        self.candles = candles or CandleStore(db)
        self.frames = FrameStore(db, self.candles)
        self.rows = FrameRows(self.candles)

    # -- writes ---------------------------------------------------------------------------
    def record(
        self, items: Sequence[NewSample], *, now: int, rules: QualityRules | None = None
    ) -> list[Sample]:
        """Record samples in one transaction (see ``record_in``)."""
        with self.db.transaction() as con:
            return self.record_in(con, items, now=now, rules=rules)

    def record_in(
        self,
        con: duckdb.DuckDBPyConnection,
        items: Sequence[NewSample],
        *,
        now: int,
        rules: QualityRules | None = None,
    ) -> list[Sample]:
        """Judge and store samples inside ``con``; return them as stored (one per item).

        A sample already stored (same id) is left as it is. A frame already stored under the
        same id is the reference (its hash is the truth); a new frame without an input hash gets
        the hash of its stored rows. A frame whose rows no longer hash as recorded makes its
        sample quarantined at once; a sample its rules refuse is stored ``excluded``.
        """
        return self._record(con, items, now, rules or QualityRules())[0]

    def record_verified_in(
        self,
        con: duckdb.DuckDBPyConnection,
        items: Sequence[NewSample],
        *,
        now: int,
        rules: QualityRules | None = None,
        plan: SampleWrites | None = None,
        unwritten: Mapping[str, Sample] | None = None,
    ) -> Verified:
        """Record samples inside ``con`` and return them verified, as ``verify`` would after.

        One transaction, one read of the rows: a sample recorded now was judged on the rows
        this transaction reads, so reading them again would find the same; a sample stored
        before is re-read and verified inside ``con`` (quarantined there when changed).

        With a ``plan``, ``con`` is only read: the rows to write are appended to ``plan`` for
        ``write_in`` (later, in one transaction), and ``unwritten`` holds the samples of plans
        not committed yet (by id), which count as stored.
        """
        rules = rules or QualityRules()
        _, made, known, read = self._record(
            con, items, now, rules, read_known=True, plan=plan, unwritten=unwritten
        )
        out = Verified(missing=[])
        bad: dict[str, str] = {}
        for i in dict.fromkeys(s.sample_id for s in items):
            s = made.get(i) or known[i]
            if s.status is SampleStatus.QUARANTINED:
                out.held.append(s)
                continue
            if i in known and s.frame.windows and read.frame_hash(s.frame) != s.frame.input_hash:
                bad[i] = _integrity(s.frame)
            _judge(s, bad, rules, out)
        changed = [made.get(i) or known[i] for i in bad]
        if plan is None:
            self.quarantine_in(con, bad, now=now, within=decision_span(changed))
        elif bad:
            plan.quarantines.append((bad, now, decision_span(changed)))
        return out

    def write_in(self, con: duckdb.DuckDBPyConnection, plan: SampleWrites) -> None:
        """Write what ``record_verified_in`` put in ``plan``, in order, inside ``con``."""
        self.frames.register_in(con, plan.frames)
        insert_samples(con, plan.samples)
        for reasons, at, within in plan.quarantines:
            self.quarantine_in(con, reasons, now=at, within=within)

    def _record(
        self,
        con: duckdb.DuckDBPyConnection,
        items: Sequence[NewSample],
        now: int,
        rules: QualityRules,
        *,
        read_known: bool = False,
        plan: SampleWrites | None = None,
        unwritten: Mapping[str, Sample] | None = None,
    ) -> tuple[list[Sample], dict[str, Sample], dict[str, Sample], FramesRead]:
        """Store the samples not stored yet (with a ``plan``: append them to it).

        Return all of them, those made now and those stored before (by id), and the rows read:
        the new samples' windows, and with ``read_known`` the live stored ones' too (one read).
        ``unwritten``: samples planned and not committed yet, as if stored.
        """
        unique = list({s.sample_id: s for s in items}.values())
        pend = unwritten or {}
        known = {i.sample_id: pend[i.sample_id] for i in unique if i.sample_id in pend}
        ask = [s for s in unique if s.sample_id not in known]
        known.update(
            (s.sample_id, s)
            for s in find_samples(
                con,
                [s.sample_id for s in ask],
                within=decision_span(ask),
                times=[s.frame.decision_time for s in ask],
            )
        )
        fresh = [s for s in unique if s.sample_id not in known]  # each id stored once
        planned = {p.frame.frame_id: p.frame for p in pend.values()}
        stored_frames = {
            **planned,
            **find_frames(con, [s.frame for s in fresh if s.frame.frame_id not in planned]),
        }
        frames = [stored_frames.get(s.frame.frame_id, s.frame) for s in fresh]
        made: list[Sample] = []
        live = [k.frame for k in known.values() if k.status is not SampleStatus.QUARANTINED]
        read = self.rows.read([*frames, *live] if read_known else frames, con=con)
        qualities = read.quality(rules, len(frames))
        for s, given, quality in zip(fresh, frames, qualities, strict=True):
            found = read.frame_hash(given)
            frame = given if given.input_hash else replace(given, input_hash=found)
            status, reason = SampleStatus.OK, ""
            if found != frame.input_hash:
                status, reason = SampleStatus.QUARANTINED, _integrity(frame)
            elif (why := rules.exclusion(quality)) is not None:
                status, reason = SampleStatus.EXCLUDED, why
            made.append(sample_from_new(s, frame, status, reason, quality, now))
        rows = [frame_row(m.frame, m.timeframe) for m in made]
        if plan is None:
            self.frames.register_in(con, rows)
            insert_samples(con, made)
        else:
            plan.frames.extend(rows)
            plan.samples.extend(made)
        fresh_by_id = {m.sample_id: m for m in made}
        by_id = {**known, **fresh_by_id}
        return [by_id[s.sample_id] for s in items], fresh_by_id, known, read

    def quarantine_in(
        self,
        con: duckdb.DuckDBPyConnection,
        reasons: Mapping[str, str],
        *,
        now: int,
        within: tuple[int, int] | None = None,
    ) -> None:
        """Mark samples quarantined with their reasons (``sample_id -> reason``).

        ``within``: the samples' decision-time range, when known (only its rows are scanned).
        """
        if not reasons:
            return
        table = pa.table(
            {
                "sample_id": pa.array(list(reasons), pa.string()),
                "reason": pa.array(list(reasons.values()), pa.string()),
            }
        )
        sets = "status = $status, reason = v.reason, status_at = $at"
        status = {"status": SampleStatus.QUARANTINED.value, "at": now}
        update_samples(con, table, sets, status, within)

    def set_priorities_in(
        self,
        con: duckdb.DuckDBPyConnection,
        priorities: Mapping[str, float],
        *,
        within: tuple[int, int] | None = None,
    ) -> None:
        """Set the priority of samples (``sample_id -> priority``); ``within`` as for quarantine."""
        if not priorities:
            return
        table = pa.table(
            {
                "sample_id": pa.array(list(priorities), pa.string()),
                "priority": pa.array([float(p) for p in priorities.values()], pa.float64()),
            }
        )
        update_samples(con, table, "priority = v.priority", {}, within)

    def forget_origin_in(
        self, con: duckdb.DuckDBPyConnection, origin: str, *, keep: str | None = None
    ) -> int:
        """Delete the samples of ``origin`` except ``keep``; return how many went."""
        rows = con.execute(
            "DELETE FROM training_samples WHERE origin = ? AND sample_id <> ?",
            [origin, keep or ""],
        ).fetchall()
        return int(rows[0][0]) if rows else 0

    # -- reads ----------------------------------------------------------------------------
    def get(self, sample_ids: Sequence[str]) -> list[Sample]:
        """Return the stored samples among ``sample_ids``, in the order asked."""
        with self.db.cursor() as cur:
            return find_samples(cur, sample_ids)

    def ids(
        self,
        *,
        source: SampleSource | None = None,
        status: SampleStatus | None = None,
        symbol: str | None = None,
        known_by: int | None = None,
        live_only: bool = False,
    ) -> list[str]:
        """Return sample ids, oldest recorded first, filtered by what is given.

        ``known_by`` keeps samples recorded by then; ``live_only`` leaves quarantined ones out.
        """
        with self.db.cursor() as cur:
            rows = cur.execute(
                "SELECT sample_id FROM training_samples WHERE ($src IS NULL OR source = $src) "
                "AND ($st IS NULL OR status = $st) AND ($sym IS NULL OR symbol = $sym) "
                "AND ($by IS NULL OR created_at <= $by) AND (NOT $live OR status <> $q) "
                "ORDER BY created_at, decision_time, sample_id",
                {
                    "src": source,
                    "st": status,
                    "sym": symbol,
                    "by": known_by,
                    "live": live_only,
                    "q": SampleStatus.QUARANTINED.value,
                },
            ).fetchall()
        return [str(r[0]) for r in rows]

    def verify(
        self, sample_ids: Sequence[str], *, now: int, rules: QualityRules | None = None
    ) -> Verified:
        """Re-check the integrity of samples and return which may be trained on.

        Every sample not already quarantined has its windows re-read and hashed; a mismatch is
        quarantined with its reason (committed before returning). Of the rest, those ``rules``
        refuse are ``excluded`` (counted, not changed: the rules are the reader's).
        """
        rules = rules or QualityRules()
        found = self.get(sample_ids)
        seen = {s.sample_id for s in found}
        missing = [i for i in sample_ids if i not in seen]
        live = [s for s in found if s.status is not SampleStatus.QUARANTINED]
        read = self.rows.read([s.frame for s in live])
        bad: dict[str, str] = {}
        held = [s for s in found if s.status is SampleStatus.QUARANTINED]
        out = Verified(held=held, missing=missing)
        for s in live:
            if s.frame.windows and read.frame_hash(s.frame) != s.frame.input_hash:
                bad[s.sample_id] = _integrity(s.frame)
            _judge(s, bad, rules, out)
        if bad:
            changed = [s for s in live if s.sample_id in bad]
            with self.db.transaction() as con:
                self.quarantine_in(con, bad, now=now, within=decision_span(changed))
        return out

    def count(self) -> int:
        """Return how many samples are stored."""
        with self.db.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM training_samples").fetchone()
        return int(row[0]) if row else 0


def _judge(s: Sample, bad: dict[str, str], rules: QualityRules, out: Verified) -> None:
    """File a sample not quarantined before: quarantined now (``bad``), excluded or trainable."""
    if not s.frame.windows:
        bad[s.sample_id] = f"integrity: frame {s.frame.frame_id} is not stored"
    if s.sample_id in bad:
        reason = bad[s.sample_id]
        out.quarantined.append(replace(s, status=SampleStatus.QUARANTINED, reason=reason))
    elif rules.exclusion(s.quality) is not None:
        out.excluded.append(s)
    else:
        out.trainable.append(s)


def _integrity(frame: FrameRef) -> str:
    return (
        f"integrity: the candles of frame {frame.frame_id} changed after it was recorded "
        "(its input hash no longer matches)"
    )

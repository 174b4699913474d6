"""A session's training samples: recorded before they are trained, outcomes validated later.

Every example the training policy hands over (a resolved candle, a confirmed pivot, a manual
label) is judged in the sample registry by reference before its batch is built, with a pending
outcome, and only the trainable ones are trained (a quarantined or excluded sample is left out
and counted; training goes on). Judging reads the batch's samples back verified
(``SampleRegistry.record_verified_in``: the rows read to record a sample are the ones a re-read
would find; a sample stored before is re-read) without writing: the rows to store are kept and
the session's next flush takes them (``take``) into its job, so they are committed in the same
transaction as the records of the steps that trained on them (all or nothing: one transaction
per flush, not one per step). Samples kept and not committed yet count as stored for the
batches judged meanwhile. All of it runs on the session's batch-builder thread, never the
thread that handles candle events.

The outcome validator runs on its own thread and validates each outcome once the candles of its
horizon are stored and its pending row committed (``on_candle`` only notes the time: O(1), no
I/O). It resumes from the stored pending rows after a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.outcomes import OutcomeConfig
from ghostcandle.domain.samples import NewSample, Sample, sample_source_of
from ghostcandle.engine.samples.outcomes import OutcomeRequest, OutcomeValidator
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.engine.training.policy import TrainingSample
from ghostcandle.messaging.foreground import Foreground
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.outcomes import PendingOutcome
from ghostcandle.store.sample_writes import SampleWrites

#: a session's outcome validation runs at most this often (its reads and commit share the
#: database with the tick's writes; what comes due meanwhile waits for the next run)
VALIDATION_INTERVAL_S = 2.0


@dataclass
class SampleCounts:
    """What a session's sample keeping did since it started."""

    recorded: int = 0
    trained: int = 0
    left_out: int = 0
    quarantined: int = 0
    excluded: int = 0


@dataclass(frozen=True)
class Vetted:
    """The samples of one batch that may be trained, with their sample ids (same order)."""

    samples: list[TrainingSample]
    sample_ids: list[str]


@dataclass(frozen=True)
class KeptSamples:
    """The sample rows and pending outcomes kept since the last flush: part of its job."""

    owner: SessionSamples
    plan: SampleWrites
    pending: list[PendingOutcome]
    seq: int

    def __call__(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the rows inside the flush's open transaction."""
        self.owner.registry.store.write_in(con, self.plan)
        self.owner.validator.store.insert_pending_in(con, self.pending)

    def committed(self) -> None:
        """Tell the owner the rows are committed (the validator may now follow them)."""
        self.owner.committed(self)


class SessionSamples:
    """Record, verify and follow up the training samples of one session (see the module doc)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        candles: CandleStore,
        *,
        outcomes: OutcomeConfig | None = None,
        yield_to: Foreground | None = None,
    ) -> None:
        self.registry = SampleRegistry(db, clock, candles=candles)
        self.validator = OutcomeValidator(
            db, config=outcomes, clock=clock, min_interval_s=VALIDATION_INTERVAL_S,
            yield_to=yield_to,
        )  # fmt: skip
        self.counts = SampleCounts()
        self._clock = clock
        self._lock = threading.Lock()
        # kept since the last take, and every sample kept and not committed yet (with the
        # number of the take that carries its newest change)
        self._plan, self._seq = SampleWrites(), 0
        self._pending: list[PendingOutcome] = []
        self._unwritten: dict[str, tuple[Sample, int]] = {}
        self._stopped_at: int | None = None

    def start(self) -> None:
        """Start validating outcomes in the background (pending ones from before included)."""
        self.validator.start()

    def stop(self) -> None:
        """Validate what is due by now, then stop the validator's thread.

        Rows kept and not committed yet are validated as soon as their flush commits.
        """
        self.validator.stop()
        self._stopped_at = self._clock.now_ms()
        self.validator.run_due(self._stopped_at)

    def on_candle(self, close_time: int) -> None:
        """Note that a candle closed (wakes the validator when an outcome is due)."""
        self.validator.on_candle(close_time)

    def vet(self, samples: Sequence[TrainingSample], now: int) -> Vetted:
        """Judge ``samples`` (known at ``now``), keep their rows; return those to train."""
        news = [
            NewSample(s.frame, sample_source_of(s.reason), s.timeframe, int(s.action))
            for s in samples
        ]
        requests = [
            OutcomeRequest(
                n.sample_id, n.frame.symbol, n.timeframe, n.frame.decision_time,
                frame_id=n.frame.frame_id,
            )
            for n in news
        ]  # fmt: skip
        pending = self.validator.pending_rows(requests)
        with self._lock:
            unwritten = {
                n.sample_id: self._unwritten[n.sample_id][0]
                for n in news
                if n.sample_id in self._unwritten
            }
        plan = SampleWrites()
        with self.registry.store.db.cursor() as cur:  # only reads: the flush writes
            got = self.registry.record_verified_in(
                cur, news, at=now, plan=plan, unwritten=unwritten
            )
        with self._lock:
            for s in [*plan.samples, *got.quarantined]:
                self._unwritten[s.sample_id] = (s, self._seq)
            self._plan.extend(plan)
            self._pending.extend(pending)
        ok = {s.sample_id for s in got.trainable}
        kept = [(s, n.sample_id) for s, n in zip(samples, news, strict=True) if n.sample_id in ok]
        c = self.counts
        c.recorded += len(news)
        c.trained += len(kept)
        c.left_out += len(news) - len(kept)
        c.quarantined += len(got.quarantined) + len(got.held)
        c.excluded += len(got.excluded)
        return Vetted([s for s, _ in kept], [i for _, i in kept])

    def take(self) -> KeptSamples | None:
        """Return the rows kept since the last take, for the flush's job (None: nothing)."""
        with self._lock:
            if not self._plan and not self._pending:
                return None
            kept = KeptSamples(self, self._plan, self._pending, self._seq)
            self._plan, self._pending, self._seq = SampleWrites(), [], self._seq + 1
            return kept

    def committed(self, kept: KeptSamples) -> None:
        """Forget the samples ``kept`` committed; let the validator follow their outcomes."""
        with self._lock:
            done = [i for i, (_, seq) in self._unwritten.items() if seq <= kept.seq]
            for i in done:
                del self._unwritten[i]
        self.validator.note(kept.pending)
        if self._stopped_at is not None:  # the last flush, after stop
            self.validator.run_due(self._stopped_at)

    def status(self) -> dict[str, int]:
        """Return the counts, and the outcomes validated and expired by this session."""
        c, v = self.counts, self.validator.totals
        return {
            "recorded": c.recorded,
            "trained": c.trained,
            "left_out": c.left_out,
            "quarantined": c.quarantined,
            "excluded": c.excluded,
            "outcomes_validated": v.validated,
            "outcomes_expired": v.expired,
        }

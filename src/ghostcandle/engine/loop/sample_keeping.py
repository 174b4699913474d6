"""A session's training samples: recorded before they are trained, outcomes validated later.

Every example the training policy hands over (a resolved candle, a confirmed pivot, a manual
label) is recorded in the sample registry by reference before its batch is built, together with
a pending outcome, in one transaction that also reads the batch's samples back verified
(``SampleRegistry.record_verified_in``: the rows read to record a sample are the ones a re-read
would find; a sample stored before is re-read), and only the trainable ones are trained (a
quarantined or excluded sample is left out and counted; training goes on). All of it runs on
the session's batch-builder thread, never the thread that handles candle events.

The outcome validator runs on its own thread and validates each outcome once the candles of its
horizon are stored (``on_candle`` only notes the time: O(1), no I/O). It resumes from the
stored pending rows after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.outcomes import OutcomeConfig
from ghostcandle.domain.samples import NewSample, sample_source_of
from ghostcandle.engine.samples.outcomes import OutcomeRequest, OutcomeValidator
from ghostcandle.engine.samples.registry import SampleRegistry
from ghostcandle.engine.training.policy import TrainingSample
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database


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


class SessionSamples:
    """Record, verify and follow up the training samples of one session (see the module doc)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        candles: CandleStore,
        *,
        outcomes: OutcomeConfig | None = None,
    ) -> None:
        self.registry = SampleRegistry(db, clock, candles=candles)
        self.validator = OutcomeValidator(db, config=outcomes, clock=clock)
        self.counts = SampleCounts()
        self._clock = clock

    def start(self) -> None:
        """Start validating outcomes in the background (pending ones from before included)."""
        self.validator.start()

    def stop(self) -> None:
        """Validate what is due by now, then stop the validator's thread."""
        self.validator.stop()
        self.validator.run_due(self._clock.now_ms())

    def on_candle(self, close_time: int) -> None:
        """Note that a candle closed (wakes the validator when an outcome is due)."""
        self.validator.on_candle(close_time)

    def vet(self, samples: Sequence[TrainingSample], now: int) -> Vetted:
        """Record ``samples`` (known at ``now``) and return those that may be trained."""
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
        with self.registry.store.db.transaction() as con:
            # recorded and read back verified in one transaction: one read of their rows
            got = self.registry.record_verified_in(con, news, at=now)
            self.validator.store.insert_pending_in(con, pending)
        self.validator.note(pending)
        ok = {s.sample_id for s in got.trainable}
        kept = [(s, n.sample_id) for s, n in zip(samples, news, strict=True) if n.sample_id in ok]
        c = self.counts
        c.recorded += len(news)
        c.trained += len(kept)
        c.left_out += len(news) - len(kept)
        c.quarantined += len(got.quarantined) + len(got.held)
        c.excluded += len(got.excluded)
        return Vetted([s for s, _ in kept], [i for _, i in kept])

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

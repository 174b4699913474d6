"""The outcome validator: measures each sample once its horizon has closed, in the background.

A sample's outcome is *enqueued* when the sample is recorded: a pending row (symbol, timeframe,
decision time, the action taken, when it becomes known and when it expires) is written at once,
so a restart finds it in the table (``enqueue``; or ``pending_rows`` + ``note`` to write it in
the sample's own transaction). ``on_candle(close_time)`` is all a live tick pays: it compares
the time with the earliest pending ``known_at`` and, when something is due, wakes the worker
thread. The worker (``run_due(now)``, also callable directly, e.g. by a backtest that wants the
outcomes known by ``t`` before it samples at ``t``) pages through the pending rows whose
horizon closed by ``now``, reads each series' candles once per batch, measures them
(``domain.outcomes``) and writes the batch in ONE transaction that flips only rows still
pending. A batch is therefore all-or-nothing; after ``kill -9`` the table holds the batches
committed, and the next run validates the rest: nothing twice, nothing lost. An outcome whose
candles are still missing at its ``expires_at`` (the data never came) becomes ``expired``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np

from ghostcandle.domain.actions import ACTIONS, Action
from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.clock import Clock, LiveClock
from ghostcandle.domain.outcomes import OutcomeArrays, OutcomeConfig, outcomes_on_series
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.messaging.foreground import Foreground, lower_priority
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.outcomes import RESULT_FIELDS, OutcomeResults, OutcomeStore, PendingOutcome
from ghostcandle.store.rapid_moves import RapidMoveStore

log = logging.getLogger(__name__)

#: Decisions further apart than this many reading spans are read from the store separately.
_GAP_SPANS = 4


@dataclass(frozen=True)
class OutcomeRequest:
    """A sample whose outcome is wanted; ``action_taken`` None when no action was taken."""

    sample_id: str
    symbol: str
    timeframe: str
    decision_time: int
    frame_id: str | None = None
    action_taken: Action | None = None


@dataclass
class ValidationReport:
    """What one ``run_due`` did."""

    validated: int = 0
    expired: int = 0
    #: due, but a candle is still missing and the grace has not run out
    waiting: int = 0
    batches: int = 0
    duration_s: float = 0.0


class OutcomeValidator:
    """Validate pending outcomes as their horizons close (see the module doc)."""

    def __init__(
        self,
        db: Database,
        *,
        config: OutcomeConfig | None = None,
        clock: Clock | None = None,
        batch_size: int = 2000,
        retry_ms: int = 5_000,
        poll_s: float = 1.0,
        min_interval_s: float = 0.0,
        on_batch: Callable[[ValidationReport], None] | None = None,
        yield_to: Foreground | None = None,
    ) -> None:
        self.db = db
        #: the worker's runs start once this foreground (a live tick in flight) is quiet
        self.yield_to = yield_to
        self.config = config or OutcomeConfig()
        self.clock = clock or LiveClock()
        self.batch_size = batch_size
        self.retry_ms = retry_ms
        self.poll_s = poll_s
        #: the worker's runs are at least this far apart: live, outcomes come due every second
        #: and one run a few seconds takes their reads and commit off the ticks in between
        self.min_interval_s = min_interval_s
        self.on_batch = on_batch
        self.store = OutcomeStore(db)
        self.candles = CandleStore(db)
        self.rapid = RapidMoveStore(db)
        #: names the rows this validator wrote (provenance; a resume writes under a new id)
        self.validator_id = uuid.uuid4().hex[:12]
        self.totals = ValidationReport()
        self._latest = 0
        self._next_due: int | None = self.store.next_known_at()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_lock = threading.Lock()

    # -- enqueue -----------------------------------------------------------------------------
    def pending_rows(self, requests: Sequence[OutcomeRequest]) -> list[PendingOutcome]:
        """Return the pending rows of ``requests`` (nothing written; no I/O)."""
        now = self.clock.now_ms()
        return [pending_row(r, self.config, now) for r in requests]

    def enqueue(self, requests: Sequence[OutcomeRequest]) -> int:
        """Write the pending rows of ``requests`` in one transaction; return how many were new."""
        rows = self.pending_rows(requests)
        n = self.store.insert_pending(rows)
        self.note(rows)
        return n

    def note(self, rows: Sequence[PendingOutcome]) -> None:
        """Take note of pending rows written by another writer (in the sample's transaction)."""
        if not rows:
            return
        first = min(r.known_at for r in rows)
        nd = self._next_due
        self._next_due = first if nd is None else min(nd, first)
        if first <= self._latest:
            self._wake.set()

    # -- the live tick -----------------------------------------------------------------------
    def on_candle(self, close_time: int) -> None:
        """Hear that a candle closed; wake the worker if an outcome is due (O(1), no I/O)."""
        self._latest = max(self._latest, close_time)
        nd = self._next_due
        if nd is not None and close_time >= nd:
            self._wake.set()

    # -- validation --------------------------------------------------------------------------
    def run_due(self, now: int) -> ValidationReport:
        """Validate (or expire) every pending outcome whose horizon closed by ``now``."""
        with self._run_lock:
            t0 = time.perf_counter()
            report = ValidationReport()
            after: tuple[int, str] | None = None
            while True:
                rows = self.store.due(now, after=after, limit=self.batch_size)
                if not rows:
                    break
                after = (rows[-1].known_at, rows[-1].sample_id)
                done, expired, waiting = self._evaluate(rows, now)
                if len(done) or expired:
                    span = (min(r.decision_time for r in rows), max(r.decision_time for r in rows))
                    with self.db.transaction() as con:
                        self.store.finish_in(
                            con, done, expired, at=now, validator_id=self.validator_id, within=span
                        )
                batch = ValidationReport(len(done), len(expired), waiting, 1)
                report.validated += batch.validated
                report.expired += batch.expired
                report.waiting += waiting
                report.batches += 1
                if self.on_batch is not None:
                    self.on_batch(batch)
            nxt = self.store.next_known_at(after=now)
            if report.waiting:
                nxt = now + self.retry_ms if nxt is None else min(nxt, now + self.retry_ms)
            self._next_due = nxt
            report.duration_s = time.perf_counter() - t0
            t = self.totals
            t.validated, t.expired = t.validated + report.validated, t.expired + report.expired
            t.batches, t.duration_s = t.batches + report.batches, t.duration_s + report.duration_s
            return report

    def _evaluate(
        self, rows: Sequence[PendingOutcome], now: int
    ) -> tuple[OutcomeResults, list[str], int]:
        """Measure a page of due rows: validated results, expired ids, how many still wait."""
        groups: dict[tuple[str, str, int, float], list[PendingOutcome]] = defaultdict(list)
        for r in rows:
            groups[(r.symbol, r.timeframe, r.horizon, r.cost)].append(r)
        ids: list[str] = []
        parts: list[OutcomeArrays] = []
        expired: list[str] = []
        waiting = 0
        for (symbol, tf, h, cost), members in groups.items():
            cfg = OutcomeConfig(cost=cost, vol_window=self.config.vol_window)
            for chunk in _chunks(members, h, cfg.vol_window, duration_ms(tf)):
                arr = self._measure(symbol, tf, h, cfg, chunk)
                ok = np.flatnonzero(arr.complete)
                ids.extend(chunk[i].sample_id for i in ok.tolist())
                parts.append(_take(arr, ok))
                for i in np.flatnonzero(~arr.complete).tolist():
                    if now >= chunk[i].expires_at:
                        expired.append(chunk[i].sample_id)
                    else:
                        waiting += 1
        return _columns(ids, parts), expired, waiting

    def _measure(
        self, symbol: str, tf: str, h: int, cfg: OutcomeConfig, chunk: Sequence[PendingOutcome]
    ) -> OutcomeArrays:
        d = duration_ms(tf)
        t = np.array([r.decision_time for r in chunk], np.int64)
        lo, hi = int(t.min()) - (cfg.vol_window + 1) * d, int(t.max()) + (h - 1) * d
        df = self.candles.read(symbol, tf, lo, hi)
        events = self.rapid.detected_times(symbol, tf, int(t.min()), int(t.max()) + h * d)
        taken = np.array(
            [-1 if r.action_taken is None else int(Action[r.action_taken]) for r in chunk],
            np.int64,
        )
        return outcomes_on_series(
            df["open_time"].to_numpy(np.int64),
            df[list(VALUE_COLUMNS)].to_numpy(np.float64),
            tf,
            t,
            h,
            cfg,
            taken=taken,
            rapid_times=events,
        )

    # -- the background worker ---------------------------------------------------------------
    def start(self) -> OutcomeValidator:
        """Start the worker thread; it validates whatever is due at once (a restart resumes)."""
        if self._thread is None:
            self._stop.clear()
            self._wake.set()
            self._thread = threading.Thread(target=self._loop, name="outcomes", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float | None = 10.0) -> None:
        """Stop the worker after the batch it is writing (a batch is never left half done)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        if self.yield_to is not None:  # background work beside a live tick: nicer than it
            lower_priority()
        last = float("-inf")
        while not self._stop.is_set():
            rest = last + self.min_interval_s - time.monotonic()
            if rest > 0 and self._stop.wait(rest):
                break
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            now = max(self._latest, self.clock.now_ms())
            nd = self._next_due
            if nd is None or nd > now:
                continue
            if self.yield_to is not None:
                self.yield_to.yield_to()
            last = time.monotonic()
            try:
                self.run_due(now)
            except Exception:  # the worker outlives one bad batch; it is retried next wake
                log.exception("outcome validation failed; retrying at the next candle")


def pending_row(r: OutcomeRequest, config: OutcomeConfig, now: int) -> PendingOutcome:
    """Return the pending row of ``r`` under ``config``, created at ``now``.

    Raise ValueError for a decision time that is not a close of its timeframe.
    """
    d = duration_ms(r.timeframe)
    if r.decision_time % d:
        raise ValueError(
            f"decision time {r.decision_time} of sample {r.sample_id} is not a close of a "
            f"{r.timeframe} candle: outcomes are measured from a candle's close"
        )
    h = config.horizon(r.timeframe)
    known = r.decision_time + h * d
    return PendingOutcome(
        sample_id=r.sample_id,
        frame_id=r.frame_id,
        symbol=r.symbol,
        timeframe=r.timeframe,
        decision_time=r.decision_time,
        horizon=h,
        known_at=known,
        expires_at=known + config.grace_ms(r.timeframe, h),
        action_taken=None if r.action_taken is None else r.action_taken.name,
        cost=config.cost,
        created_at=now,
    )


def _chunks(
    members: Sequence[PendingOutcome], h: int, vol_window: int, d: int
) -> list[list[PendingOutcome]]:
    """Split rows of one series into runs close enough in time to read in one query."""
    ordered = sorted(members, key=lambda r: r.decision_time)
    span = (h + vol_window + 1) * d * _GAP_SPANS
    out: list[list[PendingOutcome]] = [[ordered[0]]]
    for r in ordered[1:]:
        if r.decision_time - out[-1][-1].decision_time > span:
            out.append([])
        out[-1].append(r)
    return out


def _take(a: OutcomeArrays, rows: np.ndarray) -> OutcomeArrays:
    """Return the entries ``rows`` of ``a``."""
    return OutcomeArrays(**{f.name: getattr(a, f.name)[rows] for f in fields(OutcomeArrays)})


def _columns(ids: list[str], parts: Sequence[OutcomeArrays]) -> OutcomeResults:
    """Return validated outcomes as the store's columns (action names, NaN: no action)."""
    if not parts:
        return OutcomeResults([], {f: [] for f in RESULT_FIELDS})
    cols = {f: np.concatenate([getattr(p, f) for p in parts]) for f in RESULT_FIELDS}
    names = np.array([a.name for a in ACTIONS], dtype=object)
    return OutcomeResults(ids, {**cols, "best_action": names[cols["best_action"]]})

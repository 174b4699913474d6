"""Audit a loop session: each prediction's weights were trained only on what was known by then.

A prediction of the session's learning model names the weights it used (``model_version``,
whose last part is the training step ``s``). Those weights are the session's starting weights
(``start_step``: 0 for fresh ones) plus good steps ``start_step+1 .. s``. From the training-step
records (step, time submitted, frames) and the frames' decision and target times, check:

- ``unrecorded_step``: a prediction used weights trained on a step with no good record (e.g.
  a resumed session that loaded a checkpoint newer than its ledger);
- ``step_after_decision``: ... on a step submitted after the prediction's decision time;
- ``label_after_decision``: ... on a frame whose target candle closed after that time;
- ``label_after_step``: a step trained on a frame whose target had not closed by the step's
  time (in ``manual`` mode a person labels the frame: it only had to be decided by then);
- ``missing_frame``: a step trained on a frame that no stored prediction or frame names;
- ``repeated_step``: a good step number recorded twice (a step applied twice after a resume);
- ``progress_mismatch``: the committed row disagrees with the records (good steps counted,
  the checkpoint's step).

Candle labels are known at the target's close; a pivot label when the pivot is confirmed, at
the step's time, which is never before the target's close (a pivot needs a later candle).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.timeframes import format_time
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore
from ghostcandle.store.predictions import EXPIRED, PENDING, RESOLVED, PredictionLedger
from ghostcandle.store.sessions import SessionRow, SessionStore, TrainingStepRecord

#: Every kind of breach, with what it means (printed beside the count).
BREACHES: dict[str, str] = {
    "unrecorded_step": "predictions by weights trained on steps with no good record",
    "step_after_decision": "predictions by weights trained on a step submitted after the decision",
    "label_after_decision": "predictions by weights trained on a frame resolved after the decision",
    "label_after_step": "steps trained on a frame whose target had not closed by the step",
    "missing_frame": "steps trained on a frame that is not stored",
    "repeated_step": "good step numbers recorded more than once",
    "progress_mismatch": "committed progress that disagrees with the step records",
}
_EXAMPLES = 3


@dataclass
class SessionAudit:
    """The result: what was checked, and each breach kind's count and first examples."""

    session_id: str
    model: str
    start_step: int
    predictions: int = 0
    good_steps: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BREACHES, 0))
    examples: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in BREACHES})

    @property
    def ok(self) -> bool:
        """Tell whether no breach was found."""
        return not any(self.counts.values())

    def add(self, kind: str, example: str) -> None:
        """Count one breach of ``kind``; keep the first few examples."""
        self.counts[kind] += 1
        if len(self.examples[kind]) < _EXAMPLES:
            self.examples[kind].append(example)

    def to_json(self) -> dict[str, Any]:
        """Return the audit as one JSON-ready object."""
        return {
            "session_id": self.session_id,
            "model": self.model,
            "start_step": self.start_step,
            "predictions": self.predictions,
            "good_steps": self.good_steps,
            "ok": self.ok,
            "breaches": {
                k: {"count": n, "meaning": BREACHES[k], "examples": self.examples[k]}
                for k, n in self.counts.items()
                if n
            },
        }


def version_step(version: str) -> int | None:
    """Return the training step a model version names (``family-digest-step``), or None."""
    _, _, tail = version.rpartition("-")
    return int(tail) if tail.isdigit() else None


def audit_session(db: Database, session_id: str) -> SessionAudit:
    """Audit ``session_id`` (see the module doc); raise ``DataMissingError`` if unknown."""
    row = SessionStore(db).get(session_id)
    if row is None:
        raise DataMissingError(
            f"no session {session_id!r} is stored in {db.path}: list sessions with "
            "`ghostcandle evaluate --list`"
        )
    model, manual = str(row.config["model"]), row.config.get("mode") == "manual"
    audit = SessionAudit(session_id, model, row.start_step)
    preds = PredictionLedger(db).frame(
        session_id,
        statuses=(PENDING, RESOLVED, EXPIRED),
        columns=["model", "model_version", "frame_id", "decision_time", "target_time"],
    )
    times = {
        str(f): (int(d), int(t))
        for f, d, t in zip(
            preds["frame_id"], preds["decision_time"], preds["target_time"], strict=True
        )
    }
    good = [s for s in SessionStore(db).steps(session_id) if s.status == "ok"]
    audit.good_steps = len(good)
    by_step = _check_steps(audit, good, _frame_times(db, good, times), manual)
    _check_progress(audit, row, len(good))
    mine = preds[preds["model"] == model]
    audit.predictions = len(mine)
    _check_predictions(audit, by_step, mine["model_version"], mine["decision_time"])
    return audit


def _frame_times(
    db: Database, steps: Iterable[TrainingStepRecord], known: dict[str, tuple[int, int]]
) -> dict[str, tuple[int, int]]:
    """Return (decision, target) times of every frame trained; the ledger's, else the store's."""
    out = dict(known)
    wanted = {f for s in steps for f in s.frame_ids} - set(known)
    for fid, ref in FrameStore(db).get_many(sorted(wanted)).items():
        if ref.target_time is not None:
            out[fid] = (ref.decision_time, ref.target_time)
    return out


def _check_steps(
    audit: SessionAudit,
    good: list[TrainingStepRecord],
    times: dict[str, tuple[int, int]],
    manual: bool,
) -> dict[int, tuple[int, int]]:
    """Check each good step on its own; return step -> (time submitted, newest label time)."""
    by_step: dict[int, tuple[int, int]] = {}
    for step, n in sorted(Counter(s.step for s in good).items()):
        if n > 1:
            audit.add("repeated_step", f"step {step} recorded {n} times")
    for s in good:
        label = s.at if not s.frame_ids else -1
        for fid in s.frame_ids:
            if fid not in times:
                audit.add("missing_frame", f"step {s.step} trained on frame {fid}")
                continue
            decided, target = times[fid]
            known = decided if manual else target
            if known > s.at:
                audit.add(
                    "label_after_step",
                    f"step {s.step} at {format_time(s.at)} trained on frame {fid} "
                    f"resolved at {format_time(known)}",
                )
            label = max(label, known)
        at, lab = by_step.get(s.step, (s.at, label))
        by_step[s.step] = (max(at, s.at), max(lab, label))  # a repeated step: its worst record
    return by_step


def _check_progress(audit: SessionAudit, row: SessionRow, recorded: int) -> None:
    """Check the committed row against the records: count, and the checkpoint's step."""
    sid, k = row.session_id, row.start_step
    if row.train_steps != recorded:
        audit.add(
            "progress_mismatch",
            f"{sid} counts {row.train_steps} good steps, {recorded} are recorded",
        )
    expected = None if row.train_steps == 0 and k == 0 else k + row.train_steps
    if row.checkpoint_step != expected:
        audit.add(
            "progress_mismatch",
            f"{sid} references checkpoint step {row.checkpoint_step}, its progress holds "
            f"{expected}",
        )


def _check_predictions(
    audit: SessionAudit,
    by_step: dict[int, tuple[int, int]],
    versions: Iterable[Any],
    decisions: Iterable[Any],
) -> None:
    """Check each prediction against the steps its weights hold (start_step+1 .. s)."""
    first_gap = audit.start_step + 1
    while first_gap in by_step:
        first_gap += 1
    # newest submission and label time over the steps start_step+1 .. s, for each s
    newest: dict[int, tuple[int, int]] = {}
    at = lab = -1
    for step in range(audit.start_step + 1, first_gap):
        at, lab = max(at, by_step[step][0]), max(lab, by_step[step][1])
        newest[step] = (at, lab)
    for version, decided in zip(versions, decisions, strict=True):
        s, d = version_step(str(version)), int(decided)
        if s is None or s <= audit.start_step:
            continue
        where = f"prediction at {format_time(d)} by {version}"
        if s >= first_gap:
            audit.add("unrecorded_step", f"{where}: step {first_gap} is not recorded")
            continue
        step_at, label_at = newest[s]
        if step_at > d:
            audit.add(
                "step_after_decision", f"{where}: a step was submitted at {format_time(step_at)}"
            )
        if label_at > d:
            audit.add(
                "label_after_decision", f"{where}: a frame resolved at {format_time(label_at)}"
            )

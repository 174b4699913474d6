"""Training samples as rows of ``training_samples``, and back (the table's one encoding).

``labels``, ``completeness_tf`` and ``provenance`` are compact JSON objects; ``flags`` is the
``SampleFlag`` bit set. A sample read back carries its frame, joined from ``frames``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa

from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.sample_quality import SampleQuality
from ghostcandle.domain.samples import NewSample, Sample, SampleSource, SampleStatus
from ghostcandle.domain.window_checks import SampleFlag
from ghostcandle.store.frames import decode_windows

COLUMNS = (
    "sample_id",
    "frame_id",
    "source",
    "origin",
    "symbol",
    "timeframe",
    "decision_time",
    "label",
    "labels",
    "priority",
    "status",
    "reason",
    "completeness",
    "completeness_tf",
    "flags",
    "provenance",
    "created_at",
    "status_at",
)
#: the frame columns a read joins, in ``frame_from_row``'s order
FRAME_COLUMNS = "f.model, f.model_version, f.target_time, f.windows, f.norm_params, f.input_hash"
_INTS = {"decision_time", "label", "flags", "created_at", "status_at"}
_FLOATS = {"priority", "completeness"}


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), separators=(",", ":"), sort_keys=True)


def _json_memo() -> Callable[[Mapping[str, Any]], str]:
    """Return ``_json`` remembering its answers (qualities repeat across a batch)."""
    memo: dict[tuple[tuple[str, Any], ...], str] = {}

    def encode(data: Mapping[str, Any]) -> str:
        key = tuple(sorted(data.items()))
        text = memo.get(key)
        if text is None:
            text = memo[key] = _json(data)
        return text

    return encode


def sample_table(samples: Sequence[Sample]) -> pa.Table:
    """Return ``samples`` as an Arrow table of ``training_samples`` rows (``COLUMNS``)."""
    memo = _json_memo()
    rows = [sample_row(s, memo) for s in samples]
    return pa.table(
        {
            c: pa.array(
                [r[i] for r in rows],
                pa.int64() if c in _INTS else pa.float64() if c in _FLOATS else pa.string(),
            )
            for i, c in enumerate(COLUMNS)
        }
    )


def sample_row(s: Sample, encode: Callable[[Mapping[str, Any]], str] = _json) -> tuple[object, ...]:
    q = s.quality
    return (
        s.sample_id,
        s.frame.frame_id,
        s.source.value,
        s.origin,
        s.frame.symbol,
        s.timeframe,
        s.frame.decision_time,
        s.label,
        _json(s.labels),
        s.priority,
        s.status.value,
        s.reason,
        q.completeness,
        encode(q.per_timeframe),
        int(q.flags),
        encode(q.provenance),
        s.created_at,
        s.created_at,
    )


def frame_from_row(frame_id: str, symbol: Any, decision_time: Any, *rest: Any) -> FrameRef:
    model, version, target, windows, norm, input_hash = rest
    return FrameRef(
        frame_id=frame_id,
        model=str(model or ""),
        model_version=str(version or ""),
        symbol=str(symbol),
        decision_time=int(decision_time),
        windows=decode_windows(str(windows)) if windows else (),
        norm_params={str(k): float(v) for k, v in json.loads(norm or "{}").items()},
        input_hash=str(input_hash or ""),
        target_time=None if target is None else int(target),
    )


def sample_from_row(r: Sequence[Any]) -> Sample:
    v = dict(zip(COLUMNS, r[: len(COLUMNS)], strict=True))
    frame = frame_from_row(str(v["frame_id"]), v["symbol"], v["decision_time"], *r[len(COLUMNS) :])
    quality = SampleQuality(
        completeness=float(v["completeness"]),
        per_timeframe={str(k): float(x) for k, x in json.loads(v["completeness_tf"]).items()},
        flags=SampleFlag(int(v["flags"])),
        provenance={str(k): int(x) for k, x in json.loads(v["provenance"]).items()},
    )
    return Sample(
        sample_id=str(v["sample_id"]),
        frame=frame,
        source=SampleSource(v["source"]),
        timeframe=str(v["timeframe"]),
        label=int(v["label"]),
        labels={str(k): float(x) for k, x in json.loads(v["labels"]).items()},
        priority=float(v["priority"]),
        origin=str(v["origin"]),
        status=SampleStatus(v["status"]),
        reason=str(v["reason"]),
        quality=quality,
        created_at=int(v["created_at"]),
    )


def sample_from_new(
    s: NewSample,
    frame: FrameRef,
    status: SampleStatus,
    reason: str,
    quality: SampleQuality,
    now: int,
) -> Sample:
    """Return the row of new sample ``s`` as judged now (``frame``: its reference)."""
    return Sample(
        sample_id=s.sample_id,
        frame=frame,
        source=SampleSource(s.source),
        timeframe=s.timeframe,
        label=int(s.label),
        labels={str(k): float(v) for k, v in s.labels.items()},
        priority=float(s.priority),
        origin=s.origin,
        status=status,
        reason=reason,
        quality=quality,
        created_at=now,
    )

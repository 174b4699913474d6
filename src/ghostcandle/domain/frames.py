"""Frame references (DESIGN.md §3): what a model saw, stored by reference, never by copy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ghostcandle.domain.window import Window, WindowSpec


@dataclass(frozen=True)
class FrameRef:
    """The input of one prediction: windows per timeframe, normalisation, and a content hash.

    ``norm_params`` maps a name to a float (e.g. ``{"1m.price_mean": 3210.5}``); it travels with
    the reference so predictions can be turned back into prices exactly.
    """

    frame_id: str
    model: str
    model_version: str
    symbol: str
    decision_time: int
    windows: tuple[WindowSpec, ...]
    norm_params: Mapping[str, float] = field(default_factory=dict)
    input_hash: str = ""
    target_time: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict of this reference."""
        return {
            "frame_id": self.frame_id,
            "model": self.model,
            "model_version": self.model_version,
            "symbol": self.symbol,
            "decision_time": self.decision_time,
            "windows": [[w.timeframe, w.end_open_time, w.length] for w in self.windows],
            "norm_params": dict(self.norm_params),
            "input_hash": self.input_hash,
            "target_time": self.target_time,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> FrameRef:
        """Rebuild a reference from ``to_json`` output."""
        return FrameRef(
            frame_id=str(data["frame_id"]),
            model=str(data["model"]),
            model_version=str(data["model_version"]),
            symbol=str(data["symbol"]),
            decision_time=int(data["decision_time"]),
            windows=tuple(WindowSpec(str(t), int(e), int(n)) for t, e, n in data["windows"]),
            norm_params={str(k): float(v) for k, v in data["norm_params"].items()},
            input_hash=str(data["input_hash"]),
            target_time=None if data.get("target_time") is None else int(data["target_time"]),
        )


def frame_hash(windows: Sequence[Window]) -> str:
    """Return the hash of a frame's input: the hashes of its windows, in order."""
    h = hashlib.sha256()
    for w in windows:
        h.update(w.content_hash().encode())
    return h.hexdigest()


def make_frame_id(
    model: str, symbol: str, decision_time: int, windows: Sequence[WindowSpec]
) -> str:
    """Return a deterministic id for the frame a model sees at ``decision_time``."""
    key = json.dumps(
        [model, symbol, decision_time, [[w.timeframe, w.end_open_time, w.length] for w in windows]]
    )
    return hashlib.sha256(key.encode()).hexdigest()[:24]

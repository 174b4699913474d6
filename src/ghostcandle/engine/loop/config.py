"""What a loop session is: a model, symbols, timeframes and a training mode, plus its knobs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD, check_threshold, threshold_warning
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import TIMEFRAMES, check_timeframe
from ghostcandle.domain.training_modes import TrainingMode, parse_mode
from ghostcandle.engine.loop.resolver import default_grace_ms
from ghostcandle.engine.training.policy import DEFAULT_SCHEDULES, Schedule

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
#: Scored beside every session's model (DESIGN section 9): persistence, drift, a volatility-scaled
#: range forecaster and the majority-class action (the last two fitted at session start).
DEFAULT_BASELINES: tuple[str, ...] = ("persistence", "drift", "vol_range", "majority")


@dataclass(frozen=True, kw_only=True)
class SessionConfig:
    """A session's settings (frozen; unknown fields are refused by the constructor).

    ``model_config`` goes to ``create_model``; ``timeframes`` are the ones predicted each time
    one of their candles closes (default: every timeframe of the model). ``baselines`` are
    scored beside the model on the same candles. ``threshold`` is the relative move that labels
    BUY/SELL (training labels and ``action_correct``); it defaults to the broker's round-trip
    cost, and a lower explicit value is allowed (to study small moves) but shows up in
    ``warnings()`` and the session status. ``flush_every`` is how many candle events may be held
    in memory before the ledger is written (1 = at once, as live does).
    """

    session_id: str
    model: str
    model_config: Mapping[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...]
    timeframes: tuple[str, ...] = ()
    mode: TrainingMode = TrainingMode.NONE
    baselines: tuple[str, ...] = DEFAULT_BASELINES
    baseline_window: int = 30
    schedules: Mapping[str, Schedule] = field(default_factory=lambda: dict(DEFAULT_SCHEDULES))
    threshold: float = DEFAULT_MOVE_THRESHOLD
    grace_ms: Mapping[str, int] = field(default_factory=dict)
    flush_every: int = 1
    checkpoint_every: int = 50
    step_timeout_s: float = 30.0
    synchronous_training: bool = False
    seed: int = 0
    #: record every trained example in the sample registry and validate its outcome (issue 12)
    record_samples: bool = True
    #: torch intra-op threads for this process (None: leave as is); 1 avoids thread thrash on
    #: small CPUs where inference and training already run on separate threads
    torch_threads: int | None = 1

    def __post_init__(self) -> None:
        if not _ID.match(self.session_id):
            raise UserInputError(
                f"session id {self.session_id!r} is not usable: use letters, digits, '_', '-', '.'"
            )
        if not self.symbols:
            raise UserInputError("a session needs at least one symbol, e.g. ETH/USDT")
        for tf in self.timeframes:
            check_timeframe(tf)
        # stored settings and plain-string callers give the value: keep the enum member
        object.__setattr__(self, "mode", parse_mode(self.mode))
        try:
            check_threshold(self.threshold)
        except ValueError as exc:
            raise UserInputError(str(exc)) from None
        if self.flush_every < 1 or self.checkpoint_every < 1 or self.baseline_window < 2:
            raise UserInputError(
                "flush_every and checkpoint_every must be >= 1 and baseline_window >= 2"
            )

    def warnings(self) -> list[str]:
        """Return one line per setting that is allowed but probably a mistake."""
        warning = threshold_warning(self.threshold)
        return [] if warning is None else [warning]

    def grace(self, timeframe: str) -> int:
        """Return how long a prediction of ``timeframe`` may wait for its target after it."""
        return int(self.grace_ms.get(timeframe, default_grace_ms(timeframe)))

    def to_json(self) -> dict[str, Any]:
        """Return the settings as plain JSON values (stored with the session)."""
        return {
            "session_id": self.session_id,
            "model": self.model,
            "model_config": dict(self.model_config),
            "symbols": list(self.symbols),
            "timeframes": list(self.timeframes),
            "mode": self.mode.value,
            "baselines": list(self.baselines),
            "baseline_window": self.baseline_window,
            "schedules": {
                tf: [s.batch_size, s.buffer_size, s.interval] for tf, s in self.schedules.items()
            },
            "threshold": self.threshold,
            "grace_ms": dict(self.grace_ms),
            "flush_every": self.flush_every,
            "checkpoint_every": self.checkpoint_every,
            "step_timeout_s": self.step_timeout_s,
            "synchronous_training": self.synchronous_training,
            "seed": self.seed,
            "torch_threads": self.torch_threads,
        }

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> SessionConfig:
        """Rebuild settings from ``to_json`` output."""
        d = dict(data)
        d["symbols"] = tuple(d["symbols"])
        d["timeframes"] = tuple(d["timeframes"])
        d["baselines"] = tuple(d["baselines"])
        d["schedules"] = {tf: Schedule(*v) for tf, v in d["schedules"].items()}
        return SessionConfig(**d)


def finest_first(timeframes: Any) -> tuple[str, ...]:
    """Return ``timeframes`` de-duplicated, finest first."""
    return tuple(sorted(set(timeframes), key=lambda t: TIMEFRAMES[t]))

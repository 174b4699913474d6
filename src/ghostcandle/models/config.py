"""Model configs: frozen, keyword-only, checked; unknown fields are refused in one line."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.timeframes import DEFAULT_TIMEFRAMES, TIMEFRAMES, check_timeframe

#: Window length of the finest (base) timeframe when none is configured.
DEFAULT_BASE_WINDOW = 600
#: Window length of every other timeframe when none is configured.
DEFAULT_CONTEXT_WINDOW = 64


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """What every family shares: timeframes read and predicted, window lengths, seed.

    ``windows`` maps a timeframe to its window length; a timeframe left out gets
    ``DEFAULT_BASE_WINDOW`` if it is the finest, else ``DEFAULT_CONTEXT_WINDOW``.
    """

    timeframes: tuple[str, ...] = DEFAULT_TIMEFRAMES
    windows: Mapping[str, int] = field(default_factory=dict)
    seed: int = 0

    def window_lengths(self) -> dict[str, int]:
        """Return the window length of every timeframe, defaults filled in, finest first."""
        finest = self.timeframes[0]
        return {
            tf: int(
                self.windows.get(
                    tf, DEFAULT_BASE_WINDOW if tf == finest else DEFAULT_CONTEXT_WINDOW
                )
            )
            for tf in self.timeframes
        }

    def to_json(self) -> dict[str, Any]:
        """Return the config as plain JSON values (windows filled in)."""
        out = dataclasses.asdict(self)
        out["timeframes"] = list(self.timeframes)
        out["windows"] = self.window_lengths()
        return out

    def digest(self) -> str:
        """Return a short stable digest of the config (part of a model's version).

        Computed once (a model's version is read at every prediction): the config is frozen.
        """
        cached: str | None = self.__dict__.get("_digest")
        if cached is None:
            text = json.dumps(self.to_json(), sort_keys=True)
            cached = hashlib.sha256(text.encode()).hexdigest()[:8]
            self.__dict__["_digest"] = cached
        return cached


C = TypeVar("C", bound=ModelConfig)


def parse_config(cls: type[C], family: str, raw: Mapping[str, Any]) -> C:
    """Build ``cls`` from keyword values, refusing unknown fields and impossible values."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        raise UserInputError(
            f"{family} model has no setting {', '.join(unknown)}: use {', '.join(sorted(names))}"
        )
    values = dict(raw)
    if "timeframes" in values:
        tfs = values["timeframes"]
        tfs = (tfs,) if isinstance(tfs, str) else tuple(str(t) for t in tfs)
        if not tfs:
            raise UserInputError(f"{family} model needs at least one timeframe, e.g. 1m")
        for tf in tfs:
            check_timeframe(tf)
        # finest first, so the base timeframe is well defined
        values["timeframes"] = tuple(sorted(set(tfs), key=lambda t: TIMEFRAMES[t]))
    if "windows" in values:
        values["windows"] = {str(k): int(v) for k, v in dict(values["windows"]).items()}
    try:
        cfg = cls(**values)
    except TypeError as exc:
        raise UserInputError(
            f"{family} model settings are wrong ({exc}): check their types"
        ) from None
    lengths = cfg.window_lengths()
    extra = sorted(set(cfg.windows) - set(cfg.timeframes))
    if extra:
        raise UserInputError(
            f"{family} model has windows for {', '.join(extra)} but not those timeframes: "
            "add them to timeframes or drop their windows"
        )
    bad = {tf: n for tf, n in lengths.items() if n < 2}
    if bad:
        raise UserInputError(f"{family} model windows {bad} are too short: use at least 2 candles")
    return cfg


def positive(family: str, **values: float) -> None:
    """Raise a one-line UserInputError naming the first setting that is not positive."""
    for name, v in values.items():
        if not v > 0:
            raise UserInputError(f"{family} model setting {name}={v!r} must be positive")

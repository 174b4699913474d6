"""The quality of a training sample's input: completeness, validation flags, provenance.

Judged once, when a sample is recorded, on the stored rows of its frame's windows
(``domain.candle_rows``) at its decision time; the checks themselves and the flags are
``domain.window_checks``'.

**Completeness** of a window is the share of its spec's expected candles (``length`` open times
from ``start`` to ``end``) that are stored *and complete*: an incomplete roll-up (a higher
candle built while some of its parts were missing) counts as missing, because its values are
not the real candle's. A sample's overall completeness is its *lowest* window's: a model reads
every window, so one mostly empty timeframe spoils the sample however full the others are.

A sample with a hard flag is never trained on; below ``min_completeness`` (default 0.8) it is
excluded; ``QualityRules.reject`` may refuse the soft flags (``NO_WARMUP``: fewer than 50
candles, the longest indicator's period; ``RECENT_GAP``: one of the last 5 missing) too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ghostcandle.domain.candle_rows import SeriesRows, WindowRows
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.window_checks import HARD_FLAGS, SampleFlag, check_windows, flag_names

#: Candles a window needs for every indicator to be defined at its end (sma_50).
DEFAULT_WARMUP = 50
#: How many of a window's newest candles must all be there.
DEFAULT_RECENT = 5
#: Samples less complete than this are excluded from training.
DEFAULT_MIN_COMPLETENESS = 0.8


@dataclass(frozen=True)
class SampleQuality:
    """Completeness (overall and per timeframe), flags, and the window's candles by provenance."""

    completeness: float
    per_timeframe: Mapping[str, float] = field(default_factory=dict)
    flags: SampleFlag = field(default_factory=lambda: SampleFlag(0))
    provenance: Mapping[str, int] = field(default_factory=dict)

    @property
    def hard_flags(self) -> SampleFlag:
        """Return the flags that keep the sample out of training whatever is asked."""
        return self.flags & HARD_FLAGS


@dataclass(frozen=True, kw_only=True)
class QualityRules:
    """How samples are judged: the completeness floor, warm-up, recent run, flags refused."""

    min_completeness: float = DEFAULT_MIN_COMPLETENESS
    warmup: int = DEFAULT_WARMUP
    recent: int = DEFAULT_RECENT
    #: flags that keep a sample out besides the hard ones (e.g. ``RECENT_GAP``)
    reject: SampleFlag = field(default_factory=lambda: SampleFlag(0))
    #: only these timeframes' completeness counts (empty: the lowest window's, every timeframe);
    #: annotation training judges a case by the timeframe it trades, the rest being context
    timeframes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_completeness <= 1.0:
            raise UserInputError(
                f"min completeness {self.min_completeness} is not in [0, 1]: give e.g. 0.8"
            )
        if self.warmup < 0 or self.recent < 0:
            raise UserInputError(
                f"warm-up ({self.warmup}) and recent run ({self.recent}) must be >= 0 candles"
            )

    def completeness(self, quality: SampleQuality) -> float:
        """Return the completeness these rules judge: of ``timeframes`` if set and present."""
        judged = [c for tf, c in quality.per_timeframe.items() if tf in self.timeframes]
        return min(judged) if judged else quality.completeness

    def exclusion(self, quality: SampleQuality) -> str | None:
        """Return why a sample of ``quality`` may not be trained on, or None if it may.

        Reasons start with their kind (``invalid:`` or ``incomplete:``), which stats group by.
        """
        refused = quality.flags & (HARD_FLAGS | self.reject)
        if refused:
            return f"invalid: {', '.join(flag_names(refused))}"
        if self.completeness(quality) < self.min_completeness:
            parts = ", ".join(f"{tf} {c:.2f}" for tf, c in quality.per_timeframe.items())
            return (
                f"incomplete: completeness {self.completeness(quality):.2f} < "
                f"{self.min_completeness:.2f} ({parts})"
            )
        return None


@dataclass(frozen=True)
class WindowQuality:
    """One window's share: its timeframe, completeness, flags and candles per provenance."""

    timeframe: str
    completeness: float
    flags: int
    provenance: Mapping[str, int]


def combine(windows: Iterable[WindowQuality]) -> SampleQuality:
    """Return a sample's quality from its windows' (lowest completeness per timeframe)."""
    per_tf: dict[str, float] = {}
    flags = 0
    counts: Counter[str] = Counter()
    for w in windows:
        per_tf[w.timeframe] = min(w.completeness, per_tf.get(w.timeframe, w.completeness))
        flags |= w.flags
        counts.update({k: v for k, v in w.provenance.items() if v})
    overall = min(per_tf.values()) if per_tf else 0.0
    return SampleQuality(overall, per_tf, SampleFlag(flags), dict(sorted(counts.items())))


def assess(
    windows: Sequence[WindowRows], decision_time: int, rules: QualityRules | None = None
) -> SampleQuality:
    """Judge one sample's windows, as given, at its decision time (see the module doc)."""
    rules = rules or QualityRules()
    parts = []
    for w in windows:
        spec = w.spec
        checks = check_windows(
            SeriesRows(w.open_time, w.values, w.complete, w.provenance),
            spec.timeframe,
            np.array([spec.start_open_time]),
            np.array([spec.end_open_time]),
            np.array([decision_time]),
            warmup=rules.warmup,
            recent=rules.recent,
            whole=True,
        )
        prov = {k: int(v[0]) for k, v in checks.provenance.items()}
        parts.append(
            WindowQuality(spec.timeframe, float(checks.completeness[0]), int(checks.flags[0]), prov)
        )
    return combine(parts)

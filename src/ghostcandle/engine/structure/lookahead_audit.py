"""The look-ahead audit: prove that nothing computed at time t read a candle after t.

Run the batch computation once on the whole series, then again on the series truncated at
random cut points. At a cut whose last candle closes at ``T``, every value the full run says was
known by ``T`` must be exactly what the truncated run computed from candles closed by ``T``:

- the indicator rows of every candle up to the cut (equal within ``rtol`` relative to the
  candle's close, NaN only where NaN: the recursions are causal, so only the last bits of
  floating-point rounding may differ between runs of different lengths);
- the pivots with ``confirmed_at <= T`` (exactly, as a list);
- the rapid-move events with ``detected_at <= T`` (exactly, as a list).

A feature that peeks at later candles changes when the future is cut off, and shows up as a
mismatch. (freqtrade's ``lookahead-analysis`` is the idea; this covers features and pivots.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.indicators import INDICATOR_COLUMNS
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.engine.structure.engine import StructureFn, StructureResult, compute_structure

MAX_SHOWN = 50


@dataclass(frozen=True)
class Mismatch:
    """One value that differs between the full run and a truncated run."""

    cut_time: int
    what: str
    key: str
    full: str
    truncated: str

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "cut_time": self.cut_time,
            "what": self.what,
            "key": self.key,
            "full": self.full,
            "truncated": self.truncated,
        }


@dataclass
class AuditReport:
    """What the audit compared and what it found."""

    symbol: str
    timeframe: str
    candles: int
    cuts: list[int] = field(default_factory=list)
    values_compared: int = 0
    mismatch_count: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether no value differed."""
        return self.mismatch_count == 0

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``mismatches`` lists at most 50)."""
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "candles": self.candles,
            "cuts": len(self.cuts),
            "cut_times": self.cuts,
            "values_compared": self.values_compared,
            "mismatch_count": self.mismatch_count,
            "mismatches": [m.to_json() for m in self.mismatches],
            "ok": self.ok,
        }

    def _add(self, m: Mismatch) -> None:
        self.mismatch_count += 1
        if len(self.mismatches) < MAX_SHOWN:
            self.mismatches.append(m)


def _default(symbol: str, timeframe: str, candles: pd.DataFrame) -> StructureResult:
    return compute_structure(symbol, timeframe, candles)


def _compare_indicators(
    report: AuditReport,
    cut_time: int,
    full: StructureResult,
    part: StructureResult,
    scale: np.ndarray,
    rtol: float,
) -> None:
    n = len(part.open_time)
    a, b = full.indicators[:n], part.indicators
    report.values_compared += a.size
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    with np.errstate(invalid="ignore"):
        close_enough = np.abs(a - b) <= rtol * scale[:n, None]
    bad = (nan_a != nan_b) | (~nan_a & ~nan_b & ~close_enough)
    for i, j in zip(*np.nonzero(bad), strict=True):
        report._add(
            Mismatch(
                cut_time,
                "indicator",
                f"{INDICATOR_COLUMNS[j]}@{int(part.open_time[i])}",
                repr(float(a[i, j])),
                repr(float(b[i, j])),
            )
        )


def _compare_lists(
    report: AuditReport, cut_time: int, what: str, full: list[Any], part: list[Any]
) -> None:
    report.values_compared += max(len(full), len(part))
    if full == part:
        return
    full_set, part_set = set(full), set(part)
    missing = [x for x in full if x not in part_set]
    extra = [x for x in part if x not in full_set]
    for x in missing:
        report._add(Mismatch(cut_time, what, repr(x), "known", "absent"))
    for x in extra:
        report._add(Mismatch(cut_time, what, repr(x), "absent", "known"))
    if not missing and not extra:
        report._add(Mismatch(cut_time, what, "order", "differs", "differs"))


def audit_lookahead(
    symbol: str,
    timeframe: str,
    candles: pd.DataFrame,
    *,
    cuts: int = 20,
    seed: int = 0,
    compute: StructureFn | None = None,
    rtol: float = 1e-12,
) -> AuditReport:
    """Compare the full run with runs truncated at ``cuts`` random cut points (see module doc).

    ``compute`` replaces the batch computation (the tests pass a deliberately leaky one).
    """
    if cuts < 1:
        raise UserInputError(f"--cuts must be at least 1, got {cuts}")
    n = len(candles)
    if n < 2:
        raise UserInputError(
            f"the audit needs at least 2 {timeframe} candles of {symbol}, found {n}: ingest more"
        )
    fn = compute or _default
    candles = candles.reset_index(drop=True)
    full = fn(symbol, timeframe, candles)
    report = AuditReport(symbol, timeframe, n)
    rng = np.random.default_rng(seed)
    points = np.sort(rng.choice(n - 1, size=min(cuts, n - 1), replace=False))
    scale = np.abs(candles["close"].to_numpy(dtype=np.float64))
    d = duration_ms(timeframe)
    for idx in points.tolist():
        part_df = candles.iloc[: idx + 1]
        cut_time = int(part_df["open_time"].iloc[-1]) + d
        report.cuts.append(cut_time)
        part = fn(symbol, timeframe, part_df)
        _compare_indicators(report, cut_time, full, part, scale, rtol)
        _compare_lists(
            report,
            cut_time,
            "pivot",
            [p for p in full.pivots if p.confirmed_at <= cut_time],
            part.pivots,
        )
        _compare_lists(
            report,
            cut_time,
            "rapid_move",
            [e for e in full.rapid_moves if e.detected_at <= cut_time],
            part.rapid_moves,
        )
    return report

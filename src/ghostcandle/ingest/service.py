"""Ingest candle files: read all, validate, then write everything in one transaction.

If any file cannot be read, nothing is written. Bad rows are rejected by reason and the good
rows are kept. Higher timeframes are rolled up from the ingested one.

A clean file (every row valid, open times strictly increasing) goes from Arrow to the store
as it was read; any other is validated row by row in a frame (``validate_candles``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.gaps import Gap, find_gaps
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import check_timeframe, format_time
from ghostcandle.domain.validation import all_valid_in_order, validate_candles
from ghostcandle.ingest.naming import infer_from_name
from ghostcandle.ingest.readers import ReadResult, read_candle_file
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.rollups import rollup_range


@dataclass
class FileReport:
    """What happened to one file."""

    path: str
    symbol: str
    timeframe: str
    format: str
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "path": self.path,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "format": self.format,
            "rows_read": self.rows_read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "gaps": len(self.gaps),
            "missing_candles": sum(g.missing for g in self.gaps),
        }


@dataclass
class IngestReport:
    """Totals over every file of one ingest run."""

    files: list[FileReport]
    rolled_up: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the summary as one JSON-ready dict."""
        rejected: Counter[str] = Counter()
        for f in self.files:
            rejected.update(f.rejected)
        gaps = [g for f in self.files for g in f.gaps]
        return {
            "rows_read": sum(f.rows_read for f in self.files),
            "accepted": sum(f.accepted for f in self.files),
            "rejected": dict(sorted(rejected.items())),
            "duplicates": sum(f.duplicates for f in self.files),
            "gaps": len(gaps),
            "missing_candles": sum(g.missing for g in gaps),
            "gap_ranges": [
                {"from": format_time(g.start), "to": format_time(g.end), "missing": g.missing}
                for g in gaps[:50]
            ],
            "rolled_up": dict(self.rolled_up),
            "files": [f.to_json() for f in self.files],
        }


def _resolve_series(path: Path, symbol: str | None, timeframe: str | None) -> tuple[str, str]:
    name_symbol, name_tf = infer_from_name(path)
    sym = symbol or name_symbol
    tf = timeframe or name_tf
    if sym is None or tf is None:
        what = " and ".join(x for x, v in (("--symbol", sym), ("--timeframe", tf)) if v is None)
        raise UserInputError(f"{path}: cannot tell the series from the file name: pass {what}")
    return normalise_symbol(sym), check_timeframe(tf)


def ingest_files(
    store: CandleStore,
    paths: Sequence[str | Path],
    *,
    symbol: str | None = None,
    timeframe: str | None = None,
    rollup: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Ingest ``paths`` into ``store``; all files are read and validated before any write.

    ``progress(done, total)`` counts steps: each file read and validated, then each written
    (``total`` is twice the number of files).
    """
    if not paths:
        raise UserInputError("no file given: pass one or more candle files to ingest")
    steps = 2 * len(paths)
    prepared = []
    for raw in paths:
        path = Path(raw)
        sym, tf = _resolve_series(path, symbol, timeframe)
        read = read_candle_file(path)
        if read.rows_read == 0:
            raise UserInputError(f"{path}: the file has no data rows: nothing to ingest")
        report = FileReport(str(path), sym, tf, read.format, rows_read=read.rows_read)
        prepared.append((report, _validated(read, tf, report)))
        if progress is not None:
            progress(len(prepared), steps)

    reports: list[FileReport] = []
    rolled: Counter[str] = Counter()
    with store.db.transaction() as con:
        for report, valid in prepared:
            result = store.write_in(
                con,
                report.symbol,
                report.timeframe,
                valid,
                provenance=CandleSource.FILE,
                source=report.path,
            )
            report.accepted = result.inserted + result.replaced
            report.duplicates += result.duplicates
            if result.conflicts:
                report.rejected["conflicts_with_stored"] = result.conflicts
            if len(valid):
                times = _open_times(valid)
                lo, hi = int(times[0]), int(times[-1])
                if result.range_was_empty:  # the stored rows in the range are the batch's
                    report.gaps = find_gaps(times, report.timeframe)
                else:
                    report.gaps = store.gaps(report.symbol, report.timeframe, lo, hi, con=con)
                if rollup:
                    for tf, res in rollup_range(
                        store, con, report.symbol, report.timeframe, lo, hi
                    ).items():
                        rolled[tf] += res.inserted + res.replaced
            reports.append(report)
            if progress is not None:
                progress(len(prepared) + len(reports), steps)
    return IngestReport(reports, dict(rolled))


def _validated(read: ReadResult, timeframe: str, report: FileReport) -> pd.DataFrame | pa.Table:
    """Return the good rows of ``read``, sorted and unique; count the rest in ``report``."""
    table = read.table
    if all_valid_in_order(
        table.column("open_time").to_numpy(),
        [table.column(c).to_numpy() for c in VALUE_COLUMNS],
        timeframe,
    ):
        return table
    checked = validate_candles(read.candles, timeframe)
    report.rejected = dict(checked.rejected)
    report.duplicates = checked.duplicates
    return checked.valid


def _open_times(valid: pd.DataFrame | pa.Table) -> np.ndarray:
    if isinstance(valid, pa.Table):
        return np.asarray(valid.column("open_time").to_numpy(), dtype=np.int64)
    return valid["open_time"].to_numpy(dtype=np.int64)

"""``ingest-depth``: read depth recordings and book summaries, then store them in one go.

Every file is read before anything is written (one transaction): a file that cannot be read
stops the run with one line and nothing is stored. Recordings are read oldest first (by their
first line), so a capture split over several files continues its book across them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghostcandle.domain.errors import UserInputError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.ingest.depth_capture import WARMUP_MS
from ghostcandle.ingest.depth_recording import RecordingReader, first_receive_ns
from ghostcandle.ingest.depth_summary import is_summary, read_summary
from ghostcandle.store.depth import DepthSnapshot, DepthStore

_NAME_SYMBOL = re.compile(r"(?:^|_)([A-Z0-9]{5,20})_")
RECORDING_SOURCE = "ws-recording"
SUMMARY_SOURCE = "book-summary"


@dataclass
class DepthIngestReport:
    """What an ``ingest-depth`` run read, kept and rejected."""

    files: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    bad_lines: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    symbols: dict[str, dict[str, object]] = field(default_factory=dict)
    summary_rows: int = 0
    summary_rejected: Counter[str] = field(default_factory=Counter)
    stored: int = 0

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "files": self.files,
            "lines": self.lines,
            "bad_lines": dict(self.bad_lines),
            "ignored_streams": dict(self.ignored),
            "symbols": self.symbols,
            "summary_rows": self.summary_rows,
            "summary_rejected": dict(self.summary_rejected),
            "snapshots_written": self.stored,
        }


def file_symbol(path: Path, given: str | None) -> str | None:
    """Return ``given`` or the symbol in the file name (``binance_BTCUSDT_...``), if any."""
    if given:
        return normalise_symbol(given)
    m = _NAME_SYMBOL.search(path.name)
    if m is None:
        return None
    try:
        return normalise_symbol(m.group(1))
    except UserInputError:
        return None


def ingest_depth_files(
    store: DepthStore,
    paths: Sequence[str | Path],
    *,
    symbol: str | None = None,
    levels: int = 20,
    warmup_ms: int = WARMUP_MS,
) -> DepthIngestReport:
    """Import recordings and summaries into ``depth_snapshots``; return the report."""
    if not paths:
        raise UserInputError("no files given: name at least one recording or book summary")
    if levels < 1 or warmup_ms < 0:
        raise UserInputError(
            f"levels={levels}, warmup={warmup_ms} ms: give levels >= 1, warmup >= 0"
        )
    files = [Path(p) for p in paths]
    for f in files:
        if not f.is_file():
            raise UserInputError(
                f"{f}: no such file: give the path of a depth recording or summary"
            )
    report = DepthIngestReport()
    summaries = [f for f in files if is_summary(f)]
    recordings = sorted((f for f in files if f not in summaries), key=first_receive_ns)
    out: list[tuple[str, list[DepthSnapshot]]] = []
    for f in summaries:
        sym = file_symbol(f, symbol)
        if sym is None:
            raise UserInputError(f"{f}: no symbol in the file name: give --symbol, e.g. BTC/USDT")
        snaps, rows, rejected = read_summary(f, sym)
        report.files.append({"path": str(f), "format": "book-summary", "symbol": sym})
        report.summary_rows += rows
        report.summary_rejected.update(rejected)
        out.append((SUMMARY_SOURCE, snaps))
    reader = RecordingReader(levels=levels, warmup_ms=warmup_ms)
    for f in recordings:
        report.files.append({"path": str(f), "format": "ws-recording"})
        reader.read(f, file_symbol(f, symbol))
    for cap in reader.captures.values():
        snaps = cap.finish()
        report.symbols[cap.symbol] = cap.counts.to_json()
        out.append((RECORDING_SOURCE, snaps))
    report.lines, report.bad_lines, report.ignored = reader.lines, reader.bad, reader.ignored
    with store.db.transaction() as con:
        # one transaction: a failure leaves nothing of this run behind
        for source, snaps in out:
            report.stored += store.write_in(con, snaps, source=source)
    return report

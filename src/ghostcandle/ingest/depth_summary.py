"""Read book-summary CSVs: one reduced REST depth answer per row, no individual levels.

Columns (header required): ``best_bid,best_ask,...,bid_volume,ask_volume,...,timestamp``
(``timestamp`` in UTC, no zone suffix; the volumes summed over the top ``N`` levels per side,
``N`` from a ``top<N>`` in the file name). A row becomes the depth row of the second in which
it was taken, labelled with that second's end (the summary was known by then); the last row of
a second wins. Rows that are crossed, non-positive or unreadable are rejected with their reason.
The imbalance column is not stored: it is ``(bid - ask) / (bid + ask)`` of the stored volumes.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from ghostcandle.domain.errors import UserInputError
from ghostcandle.ingest.depth_recording import open_text
from ghostcandle.store.depth import DepthSnapshot

REQUIRED = ("best_bid", "best_ask", "bid_volume", "ask_volume", "timestamp")
_TOP = re.compile(r"top(\d+)", re.IGNORECASE)


def is_summary(path: Path) -> bool:
    """Tell whether the file starts with a book-summary header."""
    header = next(iter(open_text(path)), "")
    cols = [c.strip() for c in header.split(",")]
    return all(c in cols for c in REQUIRED)


def read_summary(path: Path, symbol: str) -> tuple[list[DepthSnapshot], int, Counter[str]]:
    """Return the file's per-second rows, the rows read, and rejections by reason."""
    m = _TOP.search(path.name)
    levels = int(m.group(1)) if m else 0
    rejected: Counter[str] = Counter()
    by_second: dict[int, DepthSnapshot] = {}
    rows = 0
    reader = csv.DictReader(open_text(path))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise UserInputError(
            f"{path}: book summary lacks column(s) {', '.join(missing)}: "
            f"give a CSV with {', '.join(REQUIRED)}"
        )
    for row in reader:
        rows += 1
        try:
            bid, ask = float(row["best_bid"]), float(row["best_ask"])
            bv, av = float(row["bid_volume"]), float(row["ask_volume"])
            when = datetime.fromisoformat(row["timestamp"])
        except (TypeError, ValueError):
            rejected["unreadable"] += 1
            continue
        if not all(math.isfinite(v) for v in (bid, ask, bv, av)) or min(bid, ask) <= 0:
            rejected["non_positive"] += 1
            continue
        if min(bv, av) < 0:
            rejected["non_positive"] += 1
            continue
        if bv == 0 and av == 0:
            rejected["empty"] += 1
            continue
        if bid >= ask:
            rejected["crossed"] += 1
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        ms = int(when.timestamp() * 1000)
        end = (ms // 1000 + 1) * 1000
        by_second[end] = DepthSnapshot(
            symbol, end, 0, (), (), best=(bid, ask), totals=(bv, av, levels)
        )
    return [by_second[t] for t in sorted(by_second)], rows, rejected

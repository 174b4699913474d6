"""The stored rows of many frames' windows, read together and judged together.

Checking a batch of samples must not cost a query per sample. The windows of every frame are
grouped by series; ranges close to each other (nearer than the longest window) merge into one
cluster, and each cluster is one range read; the ranges of every series are read together, a
few statements at most (``store.candle_row_reads``). A batch of recent samples is one range per
series; a batch drawn from all over the history at most one per sample and series. Quality is
then judged per cluster in one vectorised pass (``domain.window_checks``), and a window shared
by several frames is hashed once.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import duckdb
import numpy as np

from ghostcandle.domain.candle_rows import SeriesRows, WindowRows, combine_hashes
from ghostcandle.domain.frames import FrameRef
from ghostcandle.domain.sample_quality import QualityRules, SampleQuality, WindowQuality, combine
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.domain.window import WindowSpec
from ghostcandle.domain.window_checks import check_windows
from ghostcandle.store.candles import CandleStore

Range = tuple[int, int]
Series = tuple[str, str]


def merge_ranges(ranges: Sequence[Range], max_gap: int) -> list[Range]:
    """Return ``ranges`` sorted and merged where they overlap or lie within ``max_gap``.

    >>> merge_ranges([(10, 20), (0, 5), (22, 30), (100, 110)], max_gap=3)
    [(0, 5), (10, 30), (100, 110)]
    """
    out: list[Range] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + max_gap:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


class FramesRead:
    """The rows read for some frames, per series cluster; slice, hash and judge from them."""

    def __init__(self, frames: Sequence[FrameRef], clusters: dict[Series, list[SeriesRows]],
                 starts: dict[Series, list[int]]) -> None:  # fmt: skip
        self.frames = frames
        self._clusters = clusters
        self._starts = starts
        self._hashes: dict[tuple[str, WindowSpec], str] = {}

    def _cluster(self, symbol: str, spec: WindowSpec) -> int:
        return bisect.bisect_right(self._starts[(symbol, spec.timeframe)], spec.start_open_time) - 1

    def rows(self, frame: FrameRef) -> list[WindowRows]:
        """Return the stored rows of each window of ``frame``, in the frame's order."""
        return [
            self._clusters[(frame.symbol, s.timeframe)][self._cluster(frame.symbol, s)].rows(s)
            for s in frame.windows
        ]

    def frame_hash(self, frame: FrameRef) -> str:
        """Return the hash of ``frame``'s stored rows (``frame_hash`` of whole windows)."""
        hashes = []
        for spec in frame.windows:
            key = (frame.symbol, spec)
            if key not in self._hashes:
                series = self._clusters[(frame.symbol, spec.timeframe)]
                rows = series[self._cluster(frame.symbol, spec)].rows(spec)
                self._hashes[key] = rows.window(frame.symbol).content_hash()
            hashes.append(self._hashes[key])
        return combine_hashes(hashes)

    def quality(self, rules: QualityRules, first: int | None = None) -> list[SampleQuality]:
        """Return the quality of every frame's windows at its decision time (the ``first``)."""
        frames = self.frames[:first]
        parts: list[list[WindowQuality]] = [[] for _ in frames]
        groups: dict[tuple[Series, int], list[tuple[int, WindowSpec, int]]] = {}
        for k, f in enumerate(frames):
            for s in f.windows:
                groups.setdefault(((f.symbol, s.timeframe), self._cluster(f.symbol, s)), []).append(
                    (k, s, f.decision_time)
                )
        for (key, c), items in groups.items():
            checks = check_windows(
                self._clusters[key][c],
                key[1],
                np.array([s.start_open_time for _, s, _ in items], np.int64),
                np.array([s.end_open_time for _, s, _ in items], np.int64),
                np.array([t for _, _, t in items], np.int64),
                warmup=rules.warmup,
                recent=rules.recent,
            )
            done = checks.completeness.tolist()
            flags = checks.flags.tolist()
            prov = {p: n.tolist() for p, n in checks.provenance.items()}
            for m, (k, _, _) in enumerate(items):
                counts = {p: n[m] for p, n in prov.items()}
                parts[k].append(WindowQuality(key[1], done[m], flags[m], counts))
        return [combine(p) for p in parts]


class FrameRows:
    """Read the stored rows of frames' windows from a ``CandleStore``."""

    def __init__(self, candles: CandleStore) -> None:
        self.candles = candles
        self.reads = 0

    def read(
        self, frames: Sequence[FrameRef], *, con: duckdb.DuckDBPyConnection | None = None
    ) -> FramesRead:
        """Read the rows of every window of ``frames`` (a range per series and cluster, the
        ranges read together: ``CandleStore.read_row_ranges``)."""
        wanted: dict[Series, list[Range]] = {}
        longest: dict[Series, int] = {}
        for f in frames:
            for spec in f.windows:
                key = (f.symbol, spec.timeframe)
                wanted.setdefault(key, []).append((spec.start_open_time, spec.end_open_time))
                span = spec.end_open_time - spec.start_open_time
                longest[key] = max(longest.get(key, 0), span)
        starts: dict[Series, list[int]] = {}
        reads: list[tuple[str, str, int, int]] = []
        for key, ranges in wanted.items():
            merged = merge_ranges(ranges, longest[key] + duration_ms(key[1]))
            reads.extend((key[0], key[1], lo, hi) for lo, hi in merged)
            starts[key] = [lo for lo, _ in merged]
        got = iter(self.candles.read_row_ranges(reads, con=con))  # in ``reads``' order
        self.reads += len(reads)
        clusters = {key: [next(got) for _ in starts[key]] for key in starts}
        return FramesRead(frames, clusters, starts)

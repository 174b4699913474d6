"""Normalised windows cut from whole stored series, batch after batch, in reused buffers.

A batched backtest reads tens of thousands of overlapping windows of the same series. Cutting
them with ``stack_windows`` and normalising them with ``prepare_stacked_inputs`` gives the rule;
``WindowBatches`` gives the same bits (tested) at a fraction of the cost:

- each series is kept column by column, so a window's column is one contiguous row: the window
  is copied in, its scales taken and its prices shifted along long rows, not 5-wide ones;
- the last pass scales (by the exact inverse of a power of two, which gives the quotient's bits)
  and lays the columns out as ``(batch, length, 5)`` in the same pass;
- the buffers are made once and reused, so no batch pays the operating system for fresh pages
  (a 256 x 600 window stack is 6 MB; its page faults cost more than its arithmetic here);
- which windows hold NaN/inf is known from one pass over each series, not one per batch.

The arrays a call returns are read-only views of those buffers, valid until the next call:
what a caller keeps longer it copies.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ghostcandle.domain.normalisation import WindowScales, non_finite_error, scales_of
from ghostcandle.models.base import ModelInputs

__all__ = ["SeriesWindows", "WindowBatches"]


class SeriesWindows:
    """Windows of ``length`` rows of one ``(rows, 5)`` OHLCV series, up to ``capacity`` a call."""

    def __init__(self, timeframe: str, values: np.ndarray, length: int, capacity: int) -> None:
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != 5:
            raise ValueError(f"{timeframe} series has shape {v.shape}: give (rows, 5) OHLCV")
        if length < 1 or capacity < 1:
            raise ValueError(f"window length {length} and capacity {capacity} must be positive")
        self.timeframe, self.length, self.capacity = timeframe, length, capacity
        self._columns = np.ascontiguousarray(v.T)  # (5, rows)
        # bad[i]: rows before i holding NaN/inf; a window is finite when none fall inside it
        self._bad = np.concatenate(([0], np.cumsum(~np.isfinite(v).all(axis=1))))
        self._work = np.empty((5, capacity, length))
        self._range = np.empty((capacity, length))
        self._out = np.empty((capacity, length, 5))

    def normalised(self, ends: np.ndarray) -> tuple[np.ndarray, WindowScales]:
        """Return the normalised windows ending at the rows ``ends``, and their scales.

        The windows are those ``stack_windows(values, ends, length)`` gives, normalised as
        ``prepare_stacked_inputs`` normalises them, bit for bit; a read-only view of a buffer
        the next call overwrites. Raise ValueError as those two do (a window outside the
        series, a NaN/inf inside one, a last close that is not positive) or if ``ends`` holds
        more than ``capacity`` windows.
        """
        ends = np.asarray(ends, dtype=np.int64)
        n, length, rows = len(ends), self.length, self._columns.shape[1]
        if n > self.capacity:
            raise ValueError(f"{n} windows asked at once; this holds at most {self.capacity}")
        if n and (ends.min() < length - 1 or ends.max() >= rows):
            raise ValueError(
                f"window ends {int(ends.min())}..{int(ends.max())} fall outside rows "
                f"{length - 1}..{rows - 1}: give ends of whole windows of {length}"
            )
        if (self._bad[ends + 1] != self._bad[ends + 1 - length]).any():
            raise non_finite_error(self.timeframe)
        work = self._work[:, :n]
        cols = self._columns
        for i, start in enumerate((ends - (length - 1)).tolist()):
            work[:, i] = cols[:, start : start + length]
        ref = work[3, :, -1].copy()
        # each mean along one contiguous row, as ``window_scales`` takes it: the same sums
        spread = np.subtract(work[1], work[2], out=self._range[:n])
        scales = scales_of(self.timeframe, ref, spread.mean(axis=1), work[4].mean(axis=1))
        out = self._out[:n]
        price = (1.0 / scales.price_scale)[:, None]  # powers of two: exact inverses
        for c in range(4):
            np.subtract(work[c], ref[:, None], out=work[c])
            np.multiply(work[c], price, out=out[:, :, c])
        np.multiply(work[4], (1.0 / scales.volume_scale)[:, None], out=out[:, :, 4])
        view = out.view()
        view.flags.writeable = False
        return view, scales


class WindowBatches:
    """A model's inputs (tf -> window length) cut from each timeframe's stored series."""

    def __init__(
        self, values: Mapping[str, np.ndarray], windows: Mapping[str, int], capacity: int
    ) -> None:
        missing = [tf for tf in windows if tf not in values]
        if missing:
            raise ValueError(f"no series for {', '.join(missing)}: give one per model timeframe")
        self._series = {
            tf: SeriesWindows(tf, values[tf], n, capacity) for tf, n in windows.items()
        }

    def inputs(
        self, ends: Mapping[str, np.ndarray]
    ) -> tuple[ModelInputs, dict[str, WindowScales]]:
        """Return the inputs of the windows ending at ``ends`` (tf -> rows), and their scales.

        The same bits as ``prepare_stacked_inputs`` of the stacked raw windows; the arrays are
        valid until the next call (see the module's doc).
        """
        done = {tf: s.normalised(ends[tf]) for tf, s in self._series.items()}
        sizes = {len(w) for w, _ in done.values()}
        if len(sizes) > 1:
            raise ValueError(
                f"window ends hold different numbers of samples ({sorted(sizes)}): "
                "give every timeframe one end per sample"
            )
        return (
            ModelInputs(windows={tf: w for tf, (w, _) in done.items()}),
            {tf: s for tf, (_, s) in done.items()},
        )

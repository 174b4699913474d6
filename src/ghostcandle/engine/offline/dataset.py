"""Decision points over stored candles: frames by reference, next-candle targets, later labels.

A decision is taken at the close ``t`` of each candle of the finest (predicted) timeframe in a
range. What the model reads there is one window per timeframe ending at the newest candle
known at ``t``, exactly as a replay or a backtest reads it: a candle of the finest timeframe
is known from its close; a coarser one only if it closed *before* ``t`` (at an equal close the
loop hears of the finer candle first). Nothing that closes after ``t`` is ever read into a
window. The target is the next candle of the finest timeframe (opening at ``t``) and the label
is the move from the last close to its close, labelled by ``domain.actions`` (net of
round-trip costs): both come only from candles after the decision.

A dataset holds each series once (one store read per timeframe) and, per decision, only row
indices: a sample is a reference, never a copy. ``frame(i)`` is its ``FrameRef`` (window
specs, normalisation, input hash), which re-materialises from the candle store to the same
input; ``batch(rows)`` slices many samples out of the series arrays at once. A month of 1m
decisions (~43k) takes a few MB besides the candles themselves. ``samples(rows, frames)``
names the decisions as ``candle`` training samples for the sample registry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ghostcandle.domain.actions import DEFAULT_MOVE_THRESHOLD, actions_from_moves
from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.frames import FrameRef, frame_hash, make_frame_id
from ghostcandle.domain.normalisation import WindowScales, normalise_windows, window_scales
from ghostcandle.domain.samples import NewSample, SampleSource
from ghostcandle.domain.timeframes import TIMEFRAMES, check_timeframe, duration_ms, format_time
from ghostcandle.domain.window import Window, WindowSpec, complete_windows, stack_windows
from ghostcandle.models.base import ModelInputs, TrainingBatch
from ghostcandle.models.inputs import prepare_stacked_inputs, training_batch
from ghostcandle.store.candles import CandleStore

#: Decisions whose frame references are built at once.
FRAME_CHUNK = 1024


@dataclass(frozen=True, eq=False)
class DecisionDataset:
    """Every usable decision point of one symbol over a range, as rows into its series."""

    symbol: str
    #: finest first; the first is the predicted (target) timeframe
    timeframes: tuple[str, ...]
    windows: Mapping[str, int]
    threshold: float
    #: per decision: its time (the close of a finest candle), ascending
    decision_time: np.ndarray
    #: per timeframe and decision: the series row of the window's last candle
    ends: Mapping[str, np.ndarray]
    #: per decision: the finest series row of the target candle
    target_row: np.ndarray
    #: per decision: the label of the move to the target's close (``Action`` values)
    labels: np.ndarray
    #: per timeframe: the candles read, open times and ``(rows, 5)`` OHLCV
    open_time: Mapping[str, np.ndarray]
    values: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.decision_time)

    @property
    def target_timeframe(self) -> str:
        """Return the timeframe whose next candle is predicted (the finest)."""
        return self.timeframes[0]

    @property
    def target_close(self) -> np.ndarray:
        """Return when each decision's target candle closes (its label is known)."""
        out: np.ndarray = self.decision_time + duration_ms(self.target_timeframe)
        return out

    def rows_between(self, start: int, end: int) -> np.ndarray:
        """Return the decisions taken at or after ``start`` whose target closes by ``end``."""
        lo = int(np.searchsorted(self.decision_time, start, side="left"))
        hi = int(np.searchsorted(self.target_close, end, side="right"))
        return np.arange(lo, max(lo, hi), dtype=np.int64)

    def candles_between(self, start: int, end: int) -> np.ndarray:
        """Return the finest candles opening at or after ``start`` and closing by ``end``."""
        tf = self.target_timeframe
        t = self.open_time[tf]
        lo = int(np.searchsorted(t, start, side="left"))
        hi = int(np.searchsorted(t + duration_ms(tf), end, side="right"))
        out: np.ndarray = self.values[tf][lo : max(lo, hi)]
        return out

    def raw_windows(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Return the raw windows of ``rows``, stacked per timeframe ``(len(rows), n, 5)``."""
        return {
            tf: stack_windows(self.values[tf], self.ends[tf][rows], n)
            for tf, n in self.windows.items()
        }

    def inputs(self, rows: np.ndarray) -> tuple[ModelInputs, dict[str, WindowScales]]:
        """Return the model inputs of ``rows`` (each window normalised on its own) and scales."""
        return prepare_stacked_inputs(self.raw_windows(rows))

    def targets(self, rows: np.ndarray) -> np.ndarray:
        """Return the raw target candles of ``rows``, ``(len(rows), 5)`` OHLCV."""
        out: np.ndarray = self.values[self.target_timeframe][self.target_row[rows]]
        return out

    def ref_close(self, rows: np.ndarray) -> np.ndarray:
        """Return the last close each decision saw (the move's reference)."""
        tf = self.target_timeframe
        out: np.ndarray = self.values[tf][self.ends[tf][rows], 3]
        return out

    def batch(self, rows: np.ndarray) -> TrainingBatch:
        """Return the labelled batch of ``rows``: inputs, normalised targets, labels.

        The target is normalised with its own input window's parameters; the other
        timeframes' targets are not known at the decision horizon (NaN rows).
        """
        inputs, scales = self.inputs(rows)
        tf = self.target_timeframe
        norm = normalise_windows(self.targets(rows)[:, None, :], scales[tf])[:, 0]
        targets = {t: np.full((len(rows), 5), np.nan, dtype=np.float32) for t in self.timeframes}
        targets[tf] = norm.astype(np.float32)
        return training_batch(inputs, targets, self.labels[rows])

    def specs(self, i: int) -> tuple[WindowSpec, ...]:
        """Return the window specs decision ``i`` reads."""
        return tuple(
            WindowSpec(tf, int(self.open_time[tf][self.ends[tf][i]]), n)
            for tf, n in self.windows.items()
        )

    def frame(self, i: int, model: str, model_version: str = "") -> FrameRef:
        """Return decision ``i`` as a frame reference (what ``FrameStore`` stores)."""
        return self.frames(np.array([i], dtype=np.int64), model, model_version)[0]

    def frames(self, rows: np.ndarray, model: str, model_version: str = "") -> list[FrameRef]:
        """Return the frame references of ``rows``; normalisation is computed per chunk."""
        out: list[FrameRef] = []
        d = duration_ms(self.target_timeframe)
        for a in range(0, len(rows), FRAME_CHUNK):
            part = rows[a : a + FRAME_CHUNK]
            scales = {tf: window_scales(tf, w) for tf, w in self.raw_windows(part).items()}
            for k, i in enumerate(part.tolist()):
                specs = self.specs(i)
                windows = []
                params: dict[str, float] = {}
                for spec in specs:
                    tf, end = spec.timeframe, int(self.ends[spec.timeframe][i])
                    sl = slice(end - spec.length + 1, end + 1)
                    windows.append(
                        Window(self.symbol, spec, self.open_time[tf][sl], self.values[tf][sl])
                    )
                    params.update(scales[tf].params(k))
                t = int(self.decision_time[i])
                out.append(
                    FrameRef(
                        frame_id=make_frame_id(model, self.symbol, t, specs),
                        model=model,
                        model_version=model_version,
                        symbol=self.symbol,
                        decision_time=t,
                        windows=specs,
                        norm_params=params,
                        input_hash=frame_hash(windows),
                        target_time=t + d,
                    )
                )
        return out

    def samples(self, rows: np.ndarray, frames: Sequence[FrameRef]) -> list[NewSample]:
        """Return decisions ``rows`` (with their ``frames(rows, ...)``) as training samples.

        Each is a ``candle`` sample of the target timeframe, labelled as ``batch`` labels it,
        with the move to the target's close as a further label.
        """
        moves = self.targets(rows)[:, 3] / self.ref_close(rows) - 1.0
        return [
            NewSample(ref, SampleSource.CANDLE, self.target_timeframe, int(label), {"move": move})
            for ref, label, move in zip(
                frames, self.labels[rows].tolist(), moves.tolist(), strict=True
            )
        ]


def check_timeframes(timeframes: Sequence[str]) -> tuple[str, ...]:
    """Return known timeframes, distinct, finest first; refuse none or an unknown one."""
    tfs = [check_timeframe(str(t).strip()) for t in timeframes if str(t).strip()]
    if not tfs:
        raise UserInputError("give at least one timeframe, e.g. --timeframes 1m,1h")
    return tuple(sorted(set(tfs), key=lambda t: TIMEFRAMES[t]))


def load_dataset(
    store: CandleStore,
    symbol: str,
    timeframes: Sequence[str],
    windows: Mapping[str, int],
    start: int,
    end: int,
    *,
    threshold: float = DEFAULT_MOVE_THRESHOLD,
) -> DecisionDataset:
    """Return every decision point in ``[start, end)`` whose target also closes by ``end``.

    One read per timeframe: the candles closing by ``end``, from far enough back to fill the
    first windows. Raise ``UserInputError`` for an empty range, ``DataMissingError`` when a
    timeframe has no candles there or no decision has whole windows and a stored target.
    """
    tfs = check_timeframes(timeframes)
    if end <= start:
        raise UserInputError(
            f"training range is empty ({format_time(start)} .. {format_time(end)}): "
            "give --to after --from"
        )
    lengths = {tf: int(windows[tf]) for tf in tfs}
    open_time: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    for tf, n in lengths.items():
        d = duration_ms(tf)
        df = store.read(symbol, tf, start - (n + 1) * d, end - d)
        if df.empty:
            raise DataMissingError(
                f"no {tf} candles of {symbol} are stored for {format_time(start)} .. "
                f"{format_time(end)}: ingest or backfill them first"
            )
        open_time[tf] = df["open_time"].to_numpy(dtype=np.int64)
        values[tf] = df[list(VALUE_COLUMNS)].to_numpy(dtype=np.float64)
    base = tfs[0]
    d = duration_ms(base)
    t_base = open_time[base]
    # a decision at the close of row i; its target is row i + 1, the very next candle
    decision = t_base[:-1] + d
    ok = (decision >= start) & (decision + d <= end) & (t_base[1:] == decision)
    rows = np.flatnonzero(ok)
    decision = decision[rows]
    ends: dict[str, np.ndarray] = {}
    whole = np.ones(len(rows), dtype=bool)
    for tf, n in lengths.items():
        d2 = duration_ms(tf)
        closes = open_time[tf] + d2
        # a coarser candle closing at the decision is not known yet (the finer one comes first)
        ends[tf] = (
            np.searchsorted(closes, decision, side="right")
            if d2 <= d
            else np.searchsorted(closes, decision, side="left")
        ) - 1
        whole &= complete_windows(open_time[tf], tf, n, ends[tf])
    if not whole.any():
        shape = ", ".join(f"{tf}: {n}" for tf, n in lengths.items())
        raise DataMissingError(
            f"no decision in {format_time(start)} .. {format_time(end)} has whole windows "
            f"({shape} candles) and its next {base} candle stored: widen the range, start it "
            "later than the first stored candles, or shorten the windows"
        )
    keep = np.flatnonzero(whole)
    decision = decision[keep]
    ends = {tf: e[keep].astype(np.int64) for tf, e in ends.items()}
    target_row = rows[keep] + 1
    closes = values[base][:, 3]
    labels = actions_from_moves(closes[target_row - 1], closes[target_row], threshold)
    return DecisionDataset(
        symbol=symbol,
        timeframes=tfs,
        windows=lengths,
        threshold=threshold,
        decision_time=decision,
        ends=ends,
        target_row=target_row.astype(np.int64),
        labels=labels,
        open_time=open_time,
        values=values,
    )

"""Backtest signals computed in batches: the default when the model does not train.

Without training the weights never change, so every prediction depends only on the candles
known at its decision time. The windows the loop would read at each decision close are taken
out of the stored series a batch at a time and normalised as the loop's predictor normalises
one window (``models.window_batches``: the same bits, in buffers reused batch after batch),
predicted in large batches, and the signals fed to the broker in candle order: the trades are
those of the candle-by-candle loop, bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ghostcandle.domain.actions import ACTIONS
from ghostcandle.domain.broker import Broker
from ghostcandle.domain.candles import VALUE_COLUMNS, Candle
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.domain.window import complete_windows, stack_windows
from ghostcandle.engine.trading.backtest_request import BacktestRequest, Progress
from ghostcandle.models.base import Model, predict_asked
from ghostcandle.models.depth_input import depth_window, with_depth
from ghostcandle.models.position_input import POSITIONS, reads_position, with_position
from ghostcandle.models.window_batches import WindowBatches
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.depth import DepthStore

__all__ = ["DecisionWindows", "batched_signals", "decision_windows"]


@dataclass(frozen=True)
class DecisionWindows:
    """The windows a model reads at each decision close, as rows of each timeframe's series."""

    #: decision times (closes of the traded timeframe), ascending
    decisions: np.ndarray
    #: window length per timeframe
    windows: Mapping[str, int]
    #: per timeframe: the stored candles' open times and ``(rows, 5)`` OHLCV values
    open_time: Mapping[str, np.ndarray]
    values: Mapping[str, np.ndarray]
    #: per timeframe: the row of the newest candle known at each decision (-1: none yet)
    ends: Mapping[str, np.ndarray]
    #: per decision: every window is whole (where it is not, the loop makes no prediction)
    complete: np.ndarray

    def raw(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Return the raw windows of the decisions at ``rows`` (complete ones), stacked per tf."""
        return {
            tf: stack_windows(self.values[tf], self.ends[tf][rows], n)
            for tf, n in self.windows.items()
        }

    def batches(self, capacity: int) -> WindowBatches:
        """Return the normalised inputs of up to ``capacity`` decisions a call, buffers reused."""
        return WindowBatches(self.values, self.windows, capacity)


def decision_windows(
    store: CandleStore,
    symbol: str,
    timeframe: str,
    decisions: np.ndarray,
    windows: Mapping[str, int],
) -> DecisionWindows:
    """Locate the windows of ``windows`` (tf -> length) known at each decision close.

    A candle is known at a close of ``timeframe`` as the loop learns it in a replay: a finer or
    equal timeframe's up to that close (``replay_events`` announces those first), a coarser
    one's only if it closed before it. Nothing later is ever read into a window.
    """
    decisions = np.asarray(decisions, dtype=np.int64)
    d = duration_ms(timeframe)
    open_time: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    ends: dict[str, np.ndarray] = {}
    complete = np.ones(len(decisions), dtype=bool)
    for tf, n in windows.items():
        d2 = duration_ms(tf)
        if len(decisions):
            df = store.read(symbol, tf, int(decisions[0]) - (n + 1) * d2, int(decisions[-1]))
            open_time[tf] = df["open_time"].to_numpy(dtype=np.int64)
            values[tf] = df[list(VALUE_COLUMNS)].to_numpy(dtype=np.float64)
        else:
            open_time[tf] = np.empty(0, dtype=np.int64)
            values[tf] = np.empty((0, 5), dtype=np.float64)
        side: Literal["left", "right"] = "right" if d2 <= d else "left"
        ends[tf] = np.searchsorted(open_time[tf] + d2, decisions, side=side) - 1
        complete &= complete_windows(open_time[tf], tf, n, ends[tf])
    return DecisionWindows(decisions, dict(windows), open_time, values, ends, complete)


def batched_signals(
    store: CandleStore,
    req: BacktestRequest,
    model: Model,
    candles: list[Candle],
    broker: Broker,
    progress: Progress | None,
) -> int:
    """Predict every decision close of ``candles`` in batches and trade them through ``broker``.

    Return the number of signals traded.
    """
    d = duration_ms(req.timeframe)
    closes = np.array([c.open_time + d for c in candles], dtype=np.int64)
    # the loop predicts only targets that close inside the range
    found = decision_windows(
        store, req.symbol, req.timeframe, closes[closes + d <= req.end], model.windows
    )
    # a model that reads the position it holds (an agent) is asked once per possible position,
    # and the walk below takes the answer for the position the broker holds at each decision
    held_values = POSITIONS if reads_position(model) else (0,)
    actions = np.full((len(held_values), len(found.decisions)), -1, dtype=np.int64)
    confidence = np.zeros((len(held_values), len(found.decisions)), dtype=np.float64)
    complete, books = found.complete, None
    if depth_window(model):
        # a decision without a stored book for every second of its window is not predicted
        depth = DepthStore(store.db)
        depth.require([req.symbol], f"the {model.name} model")
        books, ok = depth.levels_at(req.symbol, found.decisions.tolist(), depth_window(model))
        complete = complete & ok
    todo = np.flatnonzero(complete)
    total = len(candles)
    batches = found.batches(min(req.batch_size, max(len(todo), 1)))
    for a in range(0, len(todo), req.batch_size):
        rows = todo[a : a + req.batch_size]
        # the bits of ``prepare_stacked_inputs(found.raw(rows))``, valid until the next batch
        inputs, _ = batches.inputs({tf: found.ends[tf][rows] for tf in found.windows})
        if books is not None:
            inputs = with_depth(inputs, books[rows])
        for k, held in enumerate(held_values):
            asked = with_position(inputs, held) if len(held_values) > 1 else inputs
            # only the action and its confidence are traded: no candle asked for
            out = predict_asked(model, asked, ())
            actions[k, rows] = out.actions
            confidence[k, rows] = out.confidence
        if progress is not None:
            progress(min(total, int(rows[-1]) + 1), total)
    by_time = {t: i for i, t in enumerate(found.decisions.tolist())}
    # plain lists: the walk reads one entry per candle, and a numpy scalar costs more than it
    acts, confs = actions.tolist(), confidence.tolist()
    signals = 0
    for c, t in zip(candles, closes.tolist(), strict=True):
        broker.on_candle(c)
        i = by_time.get(t)
        k = held_values.index(broker.held(c.symbol)) if len(held_values) > 1 else 0
        if i is not None and acts[k][i] >= 0:
            broker.on_signal(c.symbol, t, ACTIONS[acts[k][i]], confs[k][i])
            signals += 1
    if progress is not None:
        progress(total, total)
    return signals

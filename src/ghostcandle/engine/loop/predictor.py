"""The predictor: at a candle close, one model predicts the next candle of that timeframe.

It reads the model's windows ending at the newest known candle of each timeframe (never a
candle not yet announced), records the frame by reference (window specs, normalisation
parameters, input hash) and returns a pending ledger row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ghostcandle.domain.frames import FrameRef, frame_hash, make_frame_id
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.domain.window import Window, WindowSpec
from ghostcandle.engine.loop.forecast_memo import MEMO
from ghostcandle.engine.loop.window_cache import WindowCache
from ghostcandle.models.base import Model, ModelInputs, SampleForecast, predict_asked
from ghostcandle.models.depth_input import depth_window, with_depth
from ghostcandle.models.position_input import reads_position, with_position
from ghostcandle.store.candles import MissingCandlesError
from ghostcandle.store.depth import DepthStore, MissingDepthError
from ghostcandle.store.predictions import PredictionRecord


@dataclass(frozen=True, slots=True)
class PredictionMade:
    """A prediction and the frame it was made from."""

    record: PredictionRecord
    frame: FrameRef
    learns: bool


def prediction_id(session_id: str, model: str, symbol: str, timeframe: str, t: int) -> str:
    """Return the deterministic id of one model's prediction at decision time ``t``."""
    key = f"{session_id}|{model}|{symbol}|{timeframe}|{t}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class Predictor:
    """Run one model (through ``snapshot``, the last published weights) for a session."""

    def __init__(
        self,
        session_id: str,
        snapshot: Callable[[], Model],
        *,
        grace_ms: Callable[[str], int],
        depth: DepthStore | None = None,
    ) -> None:
        self.session_id = session_id
        #: where a model that reads the order book finds it (rows at or before the decision)
        self.depth = depth
        self.snapshot = snapshot
        self.grace_ms = grace_ms
        #: what the account trading this session's signals holds in a symbol (an agent reads
        #: it); set by the broker attached to the session, flat while none is
        self.position_of: Callable[[str], int] | None = None
        first = snapshot()
        self.name = first.name
        self.learns = first.learns
        self.timeframes = first.timeframes
        self.windows = dict(first.windows)
        #: the windows read, in order: models with the same key are given the same inputs
        self.window_key = tuple(self.windows.items())

    def predict(
        self,
        cache: WindowCache,
        symbol: str,
        timeframe: str,
        decision_time: int,
        now: int,
        shared: DecisionInputs | None = None,
    ) -> PredictionMade:
        """Predict the ``timeframe`` candle that opens at ``decision_time``.

        ``shared``: this decision's inputs for this predictor's windows, where another model
        reading the same windows took them already (``decision_inputs``); else taken here.
        Raise ``MissingCandlesError`` if a window is not complete or the candle just closed is
        not in it, ``MissingDepthError`` if a model that reads the order book finds no book
        for a second of its window.
        """
        model = self.snapshot()
        seen = (
            shared
            if shared is not None
            else decision_inputs(cache, symbol, timeframe, decision_time, model.windows)
        )
        inputs = seen.inputs
        n = depth_window(model)
        if n:
            books, ok = (
                (None, [False]) if self.depth is None else
                self.depth.levels_at(symbol, [decision_time], n)
            )  # fmt: skip
            if books is None or not ok[0]:
                raise MissingDepthError(symbol, decision_time)
            inputs = with_depth(inputs, books)
        position = reads_position(model)
        if position:
            held = 0 if self.position_of is None else self.position_of(symbol)
            inputs = with_position(inputs, held)

        def answer() -> SampleForecast:
            return predict_asked(model, inputs, (timeframe,)).first(seen.params, timeframe)

        if model.learns or n or position:
            made = answer()
        else:  # a fixed function of its windows: every session asking it the same shares it
            made = MEMO.answer((model.version, seen.input_hash, timeframe), answer)
        (o, h, lo, c, v), action, p, confidence = made
        d = duration_ms(timeframe)
        target_open = decision_time
        frame = FrameRef(
            frame_id=make_frame_id(
                f"{self.session_id}/{model.name}/{timeframe}", symbol, decision_time, seen.specs
            ),
            model=model.name,
            model_version=model.version,
            symbol=symbol,
            decision_time=decision_time,
            windows=seen.specs,
            norm_params=seen.params,
            input_hash=seen.input_hash,
            target_time=target_open + d,
        )
        record = PredictionRecord(
            prediction_id=prediction_id(
                self.session_id, model.name, symbol, timeframe, decision_time
            ),
            session_id=self.session_id,
            model=model.name,
            model_version=model.version,
            symbol=symbol,
            timeframe=timeframe,
            frame_id=frame.frame_id,
            decision_time=decision_time,
            target_open_time=target_open,
            target_time=target_open + d,
            expires_at=target_open + d + self.grace_ms(timeframe),
            ref_close=seen.ref_close,
            pred_open=o,
            pred_high=h,
            pred_low=lo,
            pred_close=c,
            pred_volume=v,
            action=action.name,
            p_hold=p[0],
            p_buy=p[1],
            p_sell=p[2],
            confidence=confidence,
            created_at=now,
        )
        return PredictionMade(record, frame, model.learns)


@dataclass(frozen=True, slots=True)
class DecisionInputs:
    """What every model reading the same windows at one decision is given.

    The windows ending at the newest known candle of each timeframe, their specs, normalised
    inputs and parameters (one frame's), the hash of their content, and the close of the
    candle just closed (the decision's reference price).
    """

    specs: tuple[WindowSpec, ...]
    inputs: ModelInputs
    params: dict[str, float]
    input_hash: str
    ref_close: float


def decision_inputs(
    cache: WindowCache,
    symbol: str,
    timeframe: str,
    decision_time: int,
    lengths: Mapping[str, int],
) -> DecisionInputs:
    """Return the inputs of windows of ``lengths`` for a decision at ``decision_time``.

    Every window ends at the newest candle closed by ``decision_time`` (never one after it,
    whatever the cache knows). Raise ``MissingCandlesError`` if a window is not complete, or if
    the ``timeframe`` candle that just closed is not in its window: never predict from stale
    input.
    """
    windows = [cache.window(symbol, tf, n, until=decision_time) for tf, n in lengths.items()]
    own = next(w for w in windows if w.spec.timeframe == timeframe)
    if own.spec.known_at != decision_time:
        raise MissingCandlesError(symbol, timeframe, [decision_time - duration_ms(timeframe)])
    inputs, params = _prepared(cache, windows)
    return DecisionInputs(
        specs=tuple(w.spec for w in windows),
        inputs=inputs,
        params=params,
        input_hash=frame_hash(windows),
        ref_close=float(own.values[-1, 3]),
    )


def _prepared(cache: WindowCache, windows: list[Window]) -> tuple[ModelInputs, dict[str, float]]:
    """Return the normalised inputs of ``windows`` and their parameters (as one frame's).

    The same bits as ``prepare_inputs`` of one sample: each window is normalised on its own,
    once per tick for every model and baseline of the session (``WindowCache.prepared``).
    """
    stacked: dict[str, np.ndarray] = {}
    params: dict[str, float] = {}
    for w in windows:
        stacked[w.spec.timeframe], p = cache.prepared(w)
        params.update(p)
    return ModelInputs(windows=stacked), params

"""Backtests: the replay of the loop with a simulated broker attached.

Two ways to run one, with the same result:

- **loop** (always with training, on request without): a ``LoopSession`` is replayed over the
  stored candles under a ``ReplayClock`` and a ``SessionBroker`` trades the model's predictions
  of the traded timeframe, candle by candle, while the session trains in its mode (seeded,
  synchronous training, so a run is repeatable);
- **batched** (without training, the default): the model's weights never change, so every
  prediction depends only on the candles known at its decision time. They are computed in large
  batches from exactly the windows the loop would read (the newest candles announced by then:
  finer or equal timeframes up to the decision close, coarser ones closed before it), then fed
  to the same broker in candle order.

Buy-and-hold over the same candles, through the same broker settings, is reported beside the
model. Everything is checked before anything is written: a bad request raises a one-line error
and leaves the database as it was.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from ghostcandle.domain.actions import ACTIONS
from ghostcandle.domain.broker import Broker, BrokerConfig
from ghostcandle.domain.candles import VALUE_COLUMNS, Candle, candles_from_frame
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError, OperationalError, UserInputError
from ghostcandle.domain.events import candle_topic

# the normalisation's own scale rule, so batched inputs cannot drift from the per-window ones
from ghostcandle.domain.normalisation import _MIN_RELATIVE_SCALE, _pow2
from ghostcandle.domain.performance import BacktestResult, result_of
from ghostcandle.domain.timeframes import check_timeframe, duration_ms, format_time
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.engine.loop.replay_source import replay_events
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.trading.paper import SessionBroker
from ghostcandle.engine.training.checkpoints import CheckpointStore
from ghostcandle.engine.training.start_checkpoint import (
    StartCheckpoint,
    check_start_from,
    load_annotation_checkpoint,
    seed_checkpoint,
)
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.models.base import Model, ModelInputs
from ghostcandle.models.inputs import prepare_inputs
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.sessions import FAILED

__all__ = [
    "TRAIN_MODES",
    "BacktestRequest",
    "BacktestResult",
    "BacktestService",
    "Progress",
    "batch_inputs",
    "result_of",
    "traded_candles",
]

#: Training modes a backtest accepts (``manual`` needs a trader).
TRAIN_MODES: tuple[str, ...] = ("none", "every_candle", "pivots_only")

#: ``progress(done, total)``: candles of the traded timeframe handled so far, out of all.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class BacktestRequest:
    """What to backtest: a model family and settings, one series, a range, a broker, training.

    The range is of close times: candles of ``timeframe`` closing in ``(start, end]`` are traded.
    ``model_config`` goes to ``create_model``; its timeframes default to ``[timeframe]``.
    """

    model: str
    symbol: str
    timeframe: str
    start: int
    end: int
    model_config: Mapping[str, Any] = field(default_factory=dict)
    train: str = "none"
    seed: int = 0
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    batched: bool = True
    batch_size: int = 256
    torch_threads: int | None = 1
    #: ``fresh`` seeded weights, or ``annotations``: the latest annotation-trained checkpoint of
    #: ``model`` (its model config is then the one used; see ``engine.start_checkpoint``)
    start_from: str = "fresh"

    def model_settings(self) -> dict[str, Any]:
        """Return the settings the model is built from (seed and timeframes filled in)."""
        return {"seed": self.seed, "timeframes": [self.timeframe], **dict(self.model_config)}

    def to_json(self) -> dict[str, Any]:
        """Return the request as plain JSON values."""
        return {
            "model": self.model,
            "model_config": self.model_settings(),
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "start": self.start,
            "end": self.end,
            "train": self.train,
            "seed": self.seed,
            "start_from": self.start_from,
            "broker": {
                "initial_equity": self.broker.initial_equity,
                "fee_bps": self.broker.fee_bps,
                "slippage_bps": self.broker.slippage_bps,
                "position_fraction": self.broker.position_fraction,
                "min_confidence": self.broker.min_confidence,
                "fill": self.broker.fill,
                "allow_short": self.broker.allow_short,
            },
        }


def traded_candles(
    store: CandleStore, symbol: str, timeframe: str, start: int, end: int
) -> list[Candle]:
    """Return the stored candles of the series closing in ``(start, end]``, or say what is wrong.

    Raise ``UserInputError`` for an empty range and ``DataMissingError`` when the timeframe is
    not stored or no candle closes in the range.
    """
    check_timeframe(timeframe)
    if end <= start:
        raise UserInputError(
            f"backtest range is empty ({format_time(start)} .. {format_time(end)}): "
            "give --to after --from"
        )
    stored = [s for s in store.series() if s.symbol == symbol]
    info = next((s for s in stored if s.timeframe == timeframe), None)
    if info is None:
        have = ", ".join(sorted(s.timeframe for s in stored)) or "none"
        raise DataMissingError(
            f"no {timeframe} candles of {symbol} are stored (stored timeframes: {have}): "
            "ingest them or pick a stored timeframe"
        )
    d = duration_ms(timeframe)
    df = store.read(symbol, timeframe, start - d + 1, end - d)
    if df.empty:
        raise DataMissingError(
            f"no stored {timeframe} candle of {symbol} closes in {format_time(start)} .. "
            f"{format_time(end)} (stored: {format_time(info.first_open_time)} .. "
            f"{format_time(info.last_open_time + d)}): pick a range inside the stored one"
        )
    return candles_from_frame(symbol, timeframe, df)


class BacktestService:
    """Run backtests on one database; what the CLI and the web API call."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.store = CandleStore(db)

    def check(self, req: BacktestRequest) -> tuple[Model, list[Candle]]:
        """Check a request (nothing is written); return its model and traded candles.

        The model is fresh, or holds the checkpoint's weights with ``start_from="annotations"``.
        """
        model, candles, _ = self._prepare(req)
        return model, candles

    def _prepare(self, req: BacktestRequest) -> tuple[Model, list[Candle], StartCheckpoint | None]:
        if req.train not in TRAIN_MODES:
            raise UserInputError(
                f"unknown training mode {req.train!r} for a backtest: "
                f"use one of {', '.join(TRAIN_MODES)}"
            )
        if req.batch_size < 1:
            raise UserInputError(f"batch size {req.batch_size} must be at least 1")
        check_start_from(req.start_from)
        candles = traded_candles(self.store, req.symbol, req.timeframe, req.start, req.end)
        start = None
        if req.start_from == "annotations":
            start = load_annotation_checkpoint(
                self.db.path, ReplayClock(req.start), req.model, req.model_config
            )
            model = start.model()
            if req.timeframe not in model.timeframes:
                raise UserInputError(
                    f"checkpoint {start.info.key} reads {', '.join(model.timeframes)}, not "
                    f"{req.timeframe}: backtest one of those timeframes or start from fresh weights"
                )
        else:
            model = create_model(req.model, **req.model_settings())
        if req.timeframe not in model.timeframes:
            raise UserInputError(
                f"model {req.model} reads {', '.join(model.timeframes)}, not {req.timeframe}: "
                "add the traded timeframe to its timeframes"
            )
        for tf in model.timeframes:
            if self.store.last_open_time(req.symbol, tf) is None:
                raise DataMissingError(
                    f"model {req.model} reads {tf} candles of {req.symbol} and none are stored: "
                    "ingest them or drop that timeframe from the model"
                )
        return model, candles, start

    def run(self, req: BacktestRequest, progress: Progress | None = None) -> BacktestResult:
        """Run a backtest to its end and return the result."""
        model, candles, start = self._prepare(req)
        if req.torch_threads is not None:
            # as a loop session does: on small machines more intra-op threads only contend
            torch.set_num_threads(req.torch_threads)
        t0 = time.perf_counter()
        broker = Broker(req.broker)
        if req.train == "none" and req.batched:
            signals, session_id, engine = (
                _run_batched(self.store, req, model, candles, broker, progress),
                None,
                "batched",
            )
        else:
            signals, session_id = _run_loop(self.db, req, candles, broker, progress, start)
            engine = "loop"
        broker.finish()
        elapsed = time.perf_counter() - t0
        return result_of(
            f"model:{req.model}",
            req.symbol,
            req.timeframe,
            req.start,
            req.end,
            engine,
            candles,
            signals,
            broker,
            elapsed,
            session_id=session_id,
            request=_request_json(req, model, start),
        )


def _request_json(
    req: BacktestRequest, model: Model, start: StartCheckpoint | None
) -> dict[str, Any]:
    out = req.to_json()
    if start is not None:
        # the checkpoint's settings were used, not the request's defaults
        out["model_config"] = model.config()
        out["checkpoint"] = start.describe()
    return out


# -- batched: predictions depend only on the past ----------------------------------------------


def _run_batched(
    store: CandleStore,
    req: BacktestRequest,
    model: Model,
    candles: list[Candle],
    broker: Broker,
    progress: Progress | None,
) -> int:
    d = duration_ms(req.timeframe)
    closes = [c.open_time + d for c in candles]
    decisions = np.array(closes, dtype=np.int64)
    # the loop predicts only targets that close inside the range
    decisions = decisions[decisions + d <= req.end]
    first = int(decisions[0]) if len(decisions) else req.end
    ends: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    ok = np.ones(len(decisions), dtype=bool)
    for tf, n in model.windows.items():
        d2 = duration_ms(tf)
        df = store.read(req.symbol, tf, first - (n + 1) * d2 - d, req.end)
        open_time = df["open_time"].to_numpy(dtype=np.int64)
        values[tf] = df[list(VALUE_COLUMNS)].to_numpy(dtype=np.float64)
        # known at a decision close: finer or equal timeframes up to it (their events come
        # first), coarser ones only if closed before it
        close_time = open_time + d2
        if d2 <= d:
            last = np.searchsorted(close_time, decisions, side="right") - 1
        else:
            last = np.searchsorted(close_time, decisions, side="left") - 1
        ends[tf] = last
        if len(open_time) == 0:
            ok[:] = False
            continue
        have = last >= n - 1
        span = open_time[last] - open_time[np.maximum(last - n + 1, 0)]
        ok &= have & (span == (n - 1) * d2)
    actions = np.full(len(decisions), -1, dtype=np.int64)
    confidence = np.zeros(len(decisions), dtype=np.float64)
    idx = np.flatnonzero(ok)
    total = len(candles)
    windows = dict(model.windows)
    for a in range(0, len(idx), req.batch_size):
        chunk = idx[a : a + req.batch_size]
        inputs = batch_inputs(values, {tf: ends[tf][chunk] for tf in windows}, windows)
        out = model.predict(inputs)
        actions[chunk] = out.actions
        confidence[chunk] = out.confidence
        if progress is not None:
            progress(min(total, int(chunk[-1]) + 1), total)
    by_time = {int(t): i for i, t in enumerate(decisions)}
    signals = 0
    for c, t in zip(candles, closes, strict=True):
        broker.on_candle(c)
        i = by_time.get(t)
        if i is not None and actions[i] >= 0:
            broker.on_signal(c.symbol, t, ACTIONS[int(actions[i])], float(confidence[i]))
            signals += 1
    if progress is not None:
        progress(total, total)
    return signals


# -- the loop, candle by candle -----------------------------------------------------------------


def _run_loop(
    db: Database,
    req: BacktestRequest,
    candles: list[Candle],
    broker: Broker,
    progress: Progress | None,
    start: StartCheckpoint | None = None,
) -> tuple[int, str]:
    session_id = f"backtest-{uuid.uuid4().hex[:12]}"
    config = SessionConfig(
        session_id=session_id,
        model=req.model,
        model_config=req.model_settings() if start is None else dict(start.config),
        symbols=(req.symbol,),
        timeframes=(req.timeframe,),
        mode=req.train,
        baselines=(),
        flush_every=1000,
        checkpoint_every=1_000_000,
        synchronous_training=True,  # each step lands before the next prediction: repeatable
        seed=req.seed,
    )
    clock = ReplayClock(req.start)
    bus = MessageBus(name=session_id)
    total = len(candles)
    done = 0

    def count(candle: Candle, _: object) -> None:
        nonlocal done
        done += 1
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)

    # the weights trained during a backtest belong to it alone: checkpoints go to a scratch dir
    with tempfile.TemporaryDirectory(prefix="ghostcandle-backtest-") as scratch:
        if start is not None:
            # the session resumes from its newest checkpoint: make that the annotation-trained one
            seed_checkpoint(CheckpointStore(scratch, clock), session_id, start)
        session = LoopSession(db, config, bus, clock, kind="backtest", checkpoint_dir=scratch)
        session.predict_until = req.end
        session.start()
        structure = None
        try:
            follower = SessionBroker(session, broker, req.timeframe, on_update=count)
            if req.train != "none":
                structure = _structure(bus, db, req)
            for event in replay_events(
                session.candles, (req.symbol,), session.model_timeframes, req.start, req.end
            ):
                clock.advance_to(event.time)
                bus.publish(candle_topic(event.symbol, event.timeframe), event)
            failed = {k: v for k, v in bus.errors.items() if k.startswith("broker:")}
            if failed:
                raise OperationalError(
                    f"the simulated broker failed on {sum(failed.values())} candles: "
                    "see the log, this is a bug to report"
                )
            clock.advance_to(req.end + config.grace(req.timeframe) + 1)
            session.expire_now()
            follower.close()
            if structure is not None:
                structure.close()
            session.finish({"backtest": True, "signals": follower.signals})
        except BaseException:
            session.stop(status=FAILED)
            raise
    return follower.signals, session_id


def _structure(bus: MessageBus, db: Database, req: BacktestRequest) -> Any:
    """Track market structure on the backtest bus so pivots arrive as they would live."""
    from ghostcandle.engine.structure.engine import StructureEngine

    engine = StructureEngine(bus, db)
    engine.track(req.symbol, req.timeframe)
    return engine


def batch_inputs(
    values: Mapping[str, np.ndarray], ends: Mapping[str, np.ndarray], windows: Mapping[str, int]
) -> ModelInputs:
    """Build the model inputs of many windows at once, equal to ``prepare_inputs`` bit for bit.

    ``values[tf]`` holds a series' ``(n, 5)`` OHLCV rows and ``ends[tf]`` the index of each
    sample's last candle. The normalisation is the one of ``domain.normalisation`` (per window:
    last close, power-of-two mean range and mean volume), vectorised; means are taken along
    contiguous rows as ``np.mean`` of one window does, so the sums are the same pairwise sums.
    A chunk holding a window that normalisation would refuse (NaN, close <= 0) goes through
    ``prepare_inputs`` itself, which raises its error.
    """
    stacked: dict[str, np.ndarray] = {}
    for tf, n in windows.items():
        v = values[tf]
        start = np.asarray(ends[tf]) - n + 1
        rows = sliding_window_view(v, n, axis=0)[start]  # (batch, 5, n), views gathered
        w = np.ascontiguousarray(rows.transpose(0, 2, 1))  # (batch, n, 5)
        ref = w[:, -1, 3]
        if not (np.isfinite(w).all() and (ref > 0).all()):
            samples = [
                {
                    t: values[t][int(ends[t][i]) - windows[t] + 1 : int(ends[t][i]) + 1]
                    for t in windows
                }
                for i in range(len(start))
            ]
            return prepare_inputs(samples, windows)[0]
        mean_range = np.ascontiguousarray(w[:, :, 1] - w[:, :, 2]).mean(axis=1)
        mean_volume = np.ascontiguousarray(w[:, :, 4]).mean(axis=1)
        floor = ref * _MIN_RELATIVE_SCALE
        price_scale = np.array(
            [_pow2(max(float(r), float(f))) for r, f in zip(mean_range, floor, strict=True)]
        )
        volume_scale = np.array([_pow2(float(m)) if m > 0.0 else 1.0 for m in mean_volume])
        out = np.empty_like(w)
        out[..., :4] = (w[..., :4] - ref[:, None, None]) / price_scale[:, None, None]
        out[..., 4] = w[..., 4] / volume_scale[:, None]
        stacked[tf] = out
    return ModelInputs(windows=stacked)

"""Backtests: the replay of the loop with a simulated broker attached.

Two ways to get the model's signals, with the same result:

- **loop** (always with training, on request without; ``loop_signals``): a loop session is
  replayed over the stored candles, candle by candle, while it trains in its mode;
- **batched** (without training, the default; ``batched_signals``): the weights never change, so
  the predictions are computed in large batches from exactly the windows the loop would read.

Buy-and-hold over the same candles, through the same broker settings, is reported beside the
model. Everything is checked before anything is written: a bad request raises a one-line error
and leaves the database as it was.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ghostcandle.domain.broker import Broker
from ghostcandle.domain.candles import Candle, candles_from_frame
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError, UserInputError
from ghostcandle.domain.performance import BacktestResult, result_of
from ghostcandle.domain.timeframes import check_timeframe, duration_ms, format_time
from ghostcandle.engine.trading.backtest_request import TRAIN_MODES, BacktestRequest, Progress
from ghostcandle.engine.trading.batched_signals import batched_signals
from ghostcandle.engine.trading.loop_signals import loop_signals
from ghostcandle.engine.training.start_checkpoint import (
    StartCheckpoint,
    check_start_from,
    load_start_checkpoint,
)
from ghostcandle.models.base import Model
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

__all__ = [
    "TRAIN_MODES",
    "BacktestRequest",
    "BacktestResult",
    "BacktestService",
    "Progress",
    "result_of",
    "traded_candles",
]


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

        The model is fresh, or holds the weights of the checkpoint ``start_from`` names
        (``annotations`` or a name given to ``ghostcandle train --name``).
        """
        model, candles, _ = self._prepare(req)
        return model, candles

    def _prepare(self, req: BacktestRequest) -> tuple[Model, list[Candle], StartCheckpoint | None]:
        if req.train not in TRAIN_MODES:
            raise UserInputError(
                f"unknown training mode {str(req.train)!r} for a backtest: "
                f"use one of {', '.join(TRAIN_MODES)}"
            )
        if req.batch_size < 1:
            raise UserInputError(f"batch size {req.batch_size} must be at least 1")
        if req.train_every < 1:
            raise UserInputError(f"train_every {req.train_every} must be at least 1")
        check_start_from(req.start_from)
        candles = traded_candles(self.store, req.symbol, req.timeframe, req.start, req.end)
        start = load_start_checkpoint(
            self.db.path, ReplayClock(req.start), req.model, req.start_from, req.model_config
        )
        if start is not None:
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
            signals = batched_signals(self.store, req, model, candles, broker, progress)
            session_id, engine = None, "batched"
        else:
            signals, session_id = loop_signals(self.db, req, candles, broker, progress, start)
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

"""Train the live model on the stored history before live starts (the demo's start-up).

A live session started from fresh weights predicts noise until it has learnt something. When
the feed has loaded its history, ``train_on_history`` fits the live model offline on every
decision point of that history (the same fit as ``ghostcandle train``: a validation split later
in time, early stopping) and writes it as a named checkpoint, which the session then starts
from (``start_from``). It reads only candles stored by now, so nothing it learns comes from
after the session's start.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ghostcandle.domain.clock import Clock
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.symbols import normalise_symbol
from ghostcandle.domain.timeframes import TIMEFRAMES, duration_ms
from ghostcandle.engine.offline.service import OfflineFit, OfflineRequest, OfflineTrainingService
from ghostcandle.engine.offline.trainer import EpochResult, FitSettings
from ghostcandle.store.db import Database

#: Fit settings at start-up: small batches (the history is short), a few epochs, at the lower
#: priority of live training (the feed streams meanwhile).
WARM_START = FitSettings(epochs=8, batch_size=64, patience=2, val_fraction=0.2, background=True)


def warm_start_name(model: str, symbol: str) -> str:
    """Return the checkpoint name the start-up training writes (replaced at each start)."""
    return f"warm-{model}-{normalise_symbol(symbol).replace('/', '')}"


def train_on_history(
    db: Database,
    clock: Clock,
    symbol: str,
    model: str,
    model_config: Mapping[str, Any],
    *,
    settings: FitSettings = WARM_START,
    on_epoch: Callable[[EpochResult], None] | None = None,
) -> OfflineFit:
    """Fit ``model`` on every stored decision of ``symbol`` closed by now; checkpoint it.

    Raise ``DataMissingError`` when the history is too short to fit on.
    """
    svc = OfflineTrainingService(db, clock)
    tfs = [str(t) for t in model_config.get("timeframes", ())]
    if not tfs:
        raise DataMissingError(f"the {model} config names no timeframes to train on")
    finest = min(tfs, key=lambda t: TIMEFRAMES[t])
    now = clock.now_ms()
    series = {s.timeframe: s for s in svc.candles.series() if s.symbol == symbol}
    base = series.get(finest)
    if base is None:
        raise DataMissingError(f"no {finest} history of {symbol} is stored yet to train on")
    end = min(now - now % duration_ms(finest), base.last_open_time + duration_ms(finest))
    req = OfflineRequest(
        model=model,
        symbol=symbol,
        timeframes=tfs,
        start=base.first_open_time,
        end=end,
        model_config={k: v for k, v in model_config.items() if k != "timeframes"},
        settings=settings,
        name=warm_start_name(model, symbol),
        replace=True,
    )
    return svc.train(req, on_epoch=on_epoch)

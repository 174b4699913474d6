"""The demo's start-up: the default live model trained offline on the stored history first."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostcandle.cli.main import main
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.offline.warm_start import train_on_history, warm_start_name
from ghostcandle.engine.runtime import DEFAULT_LIVE_CONFIG, DEFAULT_LIVE_MODEL, LiveRequest, Runtime
from ghostcandle.engine.training.start_checkpoint import load_start_checkpoint
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

SYMBOL = "ETH/USDT"
T0 = 1_722_000_000_000 - 1_722_000_000_000 % 3_600_000
#: 1m history: the default live model's 1m window and an hour more
MINUTES = int(DEFAULT_LIVE_CONFIG["windows"]["1m"]) + 60


def _history(db: Database, seconds: int) -> int:
    """Store ``MINUTES`` 1m candles and the last ``seconds`` 1s ones; return the history's end."""
    store = CandleStore(db)
    store.write(
        SYMBOL,
        "1m",
        synthetic_candles(MINUTES, "1m", start_ms=T0, seed=2),
        provenance=CandleSource.FILE,
    )
    end = T0 + MINUTES * MINUTE_MS
    store.write(
        SYMBOL,
        "1s",
        synthetic_candles(seconds, "1s", start_ms=end - seconds * 1000, seed=4),
        provenance=CandleSource.FILE,
    )
    return end


def test_the_live_model_is_trained_on_the_history_and_live_starts_from_it(db: Database) -> None:
    end = _history(db, 900)
    clock = ReplayClock(end - 60_000)  # a minute of the stored 1s candles is not known yet
    runtime = Runtime(db, clock)
    try:
        live, fitted = runtime.warm_start(LiveRequest(symbol=SYMBOL, mode="every_candle"))
    finally:
        runtime.close()
    name = warm_start_name(DEFAULT_LIVE_MODEL, SYMBOL)
    assert live.start_from == name
    assert live.model == DEFAULT_LIVE_MODEL
    assert dict(live.model_config) == {}
    # trained only on what had closed by the start: no decision's target is after it
    assert fitted.record.range_end <= clock.now_ms()
    assert fitted.fit.train_samples + fitted.fit.val_samples > 500
    # what start_live loads for this request: the default live model's config, trained weights
    start = load_start_checkpoint(db.path, clock, "", live.start_from)
    assert start is not None
    assert start.family == DEFAULT_LIVE_MODEL
    model = start.model()
    assert list(model.timeframes) == list(DEFAULT_LIVE_CONFIG["timeframes"])
    assert model.step == fitted.fit.model.step > 0
    # a second start replaces the checkpoint of the same name
    again = train_on_history(db, clock, SYMBOL, DEFAULT_LIVE_MODEL, DEFAULT_LIVE_CONFIG)
    assert again.record.name == name


def test_too_little_history_is_refused_and_serve_needs_a_live_mode(
    db: Database, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    end = _history(db, 50)
    with pytest.raises(DataMissingError):
        train_on_history(db, ReplayClock(end), SYMBOL, DEFAULT_LIVE_MODEL, DEFAULT_LIVE_CONFIG)
    argv = ["serve", "--db", str(tmp_path / "s.duckdb"), "--exchange-url", "http://127.0.0.1:9"]
    assert main([*argv, "--warm-start"]) == 2
    assert "give --live-mode too" in capsys.readouterr().err

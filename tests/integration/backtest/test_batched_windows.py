"""The batched backtest reads the very frames the loop's predictor records, candle by candle.

A loop backtest (real DuckDB file, real transformer, two timeframes, a hole in the data) records
a frame per prediction: its windows by reference and its normalisation parameters. The batched
path must locate the same windows at the same decisions (none where the loop skipped one), hold
the same candles in them, and normalise them to the same parameters, bit for bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ghostcandle.domain.aggregation import rollup
from ghostcandle.domain.broker import BrokerConfig
from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import duration_ms
from ghostcandle.engine.trading.backtest import BacktestRequest, BacktestService
from ghostcandle.engine.trading.batched_signals import decision_windows
from ghostcandle.models.inputs import prepare_stacked_inputs
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.frames import FrameStore

SYMBOL = "ETH/USDT"
M, H = 60_000, 3_600_000
T0 = 1_722_000_000_000 - 1_722_000_000_000 % H


def _seed(db: Database) -> None:
    df = synthetic_candles(900, "1m", start_ms=T0, seed=11)
    df = df.drop(index=range(480, 484)).reset_index(drop=True)  # a hole: some windows incomplete
    store = CandleStore(db)
    store.write(SYMBOL, "1m", df, provenance=CandleSource.FILE)
    hourly = rollup(df, "1m", "1h")
    store.write(
        SYMBOL,
        "1h",
        hourly[hourly["complete"]].drop(columns=["n_parts", "complete"]),
        provenance=CandleSource.FILE,
    )


def test_batched_windows_are_the_loops_frames(db: Database) -> None:
    _seed(db)
    req = BacktestRequest(
        model="transformer",
        symbol=SYMBOL,
        timeframe="1m",
        start=T0 + 170 * M,  # across hour closes: a 1h candle closing with a 1m one is not known
        end=T0 + 560 * M,
        model_config={
            "d_model": 16,
            "heads": 2,
            "layers": 1,
            "patch": 5,
            "timeframes": ["1m", "1h"],
            "windows": {"1m": 30, "1h": 3},
        },
        broker=BrokerConfig(),
    )
    svc = BacktestService(db)
    model, candles = svc.check(req)
    loop = svc.run(dataclasses.replace(req, batched=False))
    rows = (
        db.con.cursor()
        .execute("SELECT frame_id FROM predictions WHERE session_id = ?", [loop.session_id])
        .fetchall()
    )
    frames = FrameStore(db)
    recorded = {f.decision_time: f for f in (frames.get(r[0]) for r in rows)}

    d = duration_ms(req.timeframe)
    closes = np.array([c.close_time for c in candles], dtype=np.int64)
    found = decision_windows(
        CandleStore(db), SYMBOL, "1m", closes[closes + d <= req.end], model.windows
    )
    complete = np.flatnonzero(found.complete)
    assert 0 < len(complete) < len(found.decisions)  # the hole made the loop skip some
    assert [int(t) for t in found.decisions[complete]] == sorted(recorded)

    raw = found.raw(complete)
    _, scales = prepare_stacked_inputs(raw)
    for k, i in enumerate(complete):
        frame = recorded[int(found.decisions[i])]
        specs = {s.timeframe: s for s in frame.windows}
        params: dict[str, float] = {}
        for tf, n in model.windows.items():
            assert specs[tf].length == n
            assert specs[tf].end_open_time == found.open_time[tf][found.ends[tf][i]]
            params.update(scales[tf].params(k))
        assert params == dict(frame.norm_params)
        stored = {w.spec.timeframe: w.values for w in frames.get_inference_data(frame)}
        for tf in model.windows:
            assert np.array_equal(raw[tf][k], stored[tf])

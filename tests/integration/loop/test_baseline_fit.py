"""A session's fitted baselines learn their constants from the candles closed before it starts.

Two databases share the first day and differ wildly after it (another market, 50x the price):
sessions starting at the end of that day fit identical constants, equal to a fit computed here
on the first day alone; and a replay runs the new baselines beside the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.candles import VALUE_COLUMNS
from ghostcandle.domain.clock import ReplayClock
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, MINUTE_MS
from ghostcandle.domain.validation import validate_candles
from ghostcandle.engine.loop.session import LoopSession
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.messaging.bus import MessageBus
from ghostcandle.models.base import Model
from ghostcandle.models.majority_baseline import fit_majority
from ghostcandle.models.range_baseline import fit_vol_range
from ghostcandle.models.registry import create_model
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.rollups import rollup_range

from .conftest import END, START, SYM, T0, fill, small_config

FITTED = ("vol_range", "majority")


def _wild_second_day(db: Database) -> None:
    """Store the first day of ``fill`` and then a day of an unrelated, far wilder market."""
    store = CandleStore(db)
    first = synthetic_candles(2 * 1440, "1m", start_ms=T0, seed=5).iloc[:1440]
    wild = synthetic_candles(1440, "1m", start_ms=START, seed=99, start_price=150_000.0)
    wild["high"] = wild["high"] + 0.05 * wild["close"]  # huge upper wicks
    for df in (first, wild):
        valid = validate_candles(df, "1m").valid
        with db.transaction() as con:
            store.write_in(con, SYM, "1m", valid, source="synthetic", provenance=CandleSource.FILE)
    with db.transaction() as con:
        rollup_range(store, con, SYM, "1m", T0, T0 + 2 * DAY_MS - 1)


def _fitted_models(db: Database, ckpt: str) -> dict[str, Model]:
    config = small_config("fit", model="moving_average", baselines=FITTED)
    session = LoopSession(db, config, MessageBus(), ReplayClock(START), checkpoint_dir=ckpt)
    session.start()
    try:
        return {p.name: p.snapshot() for p in session.predictors if p.name in FITTED}
    finally:
        session.stop()


def test_fitted_constants_come_from_the_past_only(tmp_path: Path) -> None:
    with Database(tmp_path / "a.duckdb") as a, Database(tmp_path / "b.duckdb") as b:
        fill(a)
        _wild_second_day(b)
        same_past = _fitted_models(a, str(tmp_path / "ca"))
        wild_future = _fitted_models(b, str(tmp_path / "cb"))
        history = CandleStore(a).read(SYM, "1m", T0, START - MINUTE_MS)
    assert {n: m.config() for n, m in same_past.items()} == {
        n: m.config() for n, m in wild_future.items()
    }
    past = history[list(VALUE_COLUMNS)].to_numpy(dtype=np.float64)
    fit = fit_vol_range([past], window=same_past["vol_range"].windows["1m"])
    cfg = same_past["vol_range"].config()
    assert (cfg["k_high"], cfg["k_low"], cfg["halflife"]) == (fit.k_high, fit.k_low, fit.halflife)
    threshold = small_config("x").threshold
    assert tuple(same_past["majority"].config()["counts"]) == fit_majority(
        [past], threshold=threshold
    )
    # fitted, not the unfitted defaults
    unfitted = create_model("vol_range", **{**cfg, "k_high": 1.0, "k_low": 1.0, "halflife": 5.0})
    assert same_past["vol_range"].version != unfitted.version


def test_a_replay_runs_the_fitted_baselines_beside_the_model(
    market: Database, ckpt_dir: str
) -> None:
    config = small_config("rep", model="moving_average", baselines=("persistence", *FITTED))
    summary = run_replay(market, ReplayRequest(config, START, END), checkpoint_dir=ckpt_dir)
    assert set(summary["evaluation"]) == {"moving_average", "persistence", *FITTED}
    rows = market.con.execute(
        "SELECT model, count(*), count(*) FILTER (WHERE status = 'resolved') FROM predictions "
        "GROUP BY model ORDER BY model"
    ).fetchall()
    counts = {m: (n, done) for m, n, done in rows}
    # every model predicted the same candles, and they were all settled
    assert len({n for n, _ in counts.values()}) == 1
    assert all(done == n for n, done in counts.values())

"""A cob session in the real loop: it reads stored books (never later ones) or refuses to start."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ghostcandle.domain.errors import DataMissingError
from ghostcandle.domain.timeframes import MINUTE_MS
from ghostcandle.engine.replay import ReplayRequest, run_replay
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.depth import DepthSnapshot, DepthStore
from ghostcandle.store.predictions import PredictionLedger

from .conftest import END, START, SYM, small_config

COB = {"timeframes": ["1m", "1h"], "windows": {"1m": 20, "1h": 6}, "snapshots": 5, "seed": 1}
HOLE = START + 30 * MINUTE_MS  # no book stored for the minute before this decision


def _store_books(db: Database) -> None:
    """Store a book every second from START - 1 min to END around the 1m close (a hole)."""
    closes = CandleStore(db).read(SYM, "1m", START - 2 * MINUTE_MS, END)
    by_minute = dict(zip(closes["open_time"], closes["close"], strict=True))
    rng = np.random.default_rng(0)
    snaps = []
    for t in range(START - MINUTE_MS, END + 1, 1000):
        if HOLE - MINUTE_MS < t <= HOLE:
            continue
        c = float(by_minute[t - t % MINUTE_MS - MINUTE_MS])
        q = rng.lognormal(0.0, 1.0, (2, 20))
        bids = tuple((c - 0.01 * (i + 1), float(q[0, i])) for i in range(20))
        asks = tuple((c + 0.01 * (i + 1), float(q[1, i])) for i in range(20))
        snaps.append(DepthSnapshot(SYM, t, t, bids, asks))
    DepthStore(db).write(snaps, source="test")


def test_a_cob_session_without_books_says_how_to_get_them(market: Database, ckpt_dir: str) -> None:
    cfg = replace(small_config("cob-none", model="cob"), model_config=COB)
    with pytest.raises(DataMissingError, match="ingest-depth") as err:
        run_replay(market, ReplayRequest(cfg, START, END), checkpoint_dir=ckpt_dir)
    assert "\n" not in str(err.value)


def test_a_cob_session_predicts_and_trains_on_stored_books(market: Database, ckpt_dir: str) -> None:
    _store_books(market)
    cfg = replace(small_config("cob-run", model="cob", mode="every_candle"), model_config=COB)
    summary = run_replay(market, ReplayRequest(cfg, START, END), checkpoint_dir=ckpt_dir)
    assert summary["train_steps"] > 0
    df = PredictionLedger(market).frame("cob-run")
    assert {"cob", "imbalance", "persistence"} <= set(df["model"])
    for model in ("cob", "imbalance"):
        times = set(df.loc[(df["model"] == model) & (df["timeframe"] == "1m"), "decision_time"])
        # every 1m decision but the one whose last minute of books is missing
        assert HOLE not in times
        assert HOLE + MINUTE_MS in times
    persistence = df.loc[(df["model"] == "persistence") & (df["timeframe"] == "1m")]
    assert HOLE in set(persistence["decision_time"])
    assert summary["skipped_missing"] >= 2

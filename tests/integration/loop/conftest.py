"""A small synthetic market (1m rolled up to 1h/1d) in a real DuckDB file, for loop tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS
from ghostcandle.domain.validation import validate_candles
from ghostcandle.engine.loop.config import SessionConfig
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.rollups import rollup_range

T0 = 1_699_920_000_000  # 2023-11-14T00:00Z, a day boundary
SYM = "ETH/USDT"
#: replay range used by the tests: one day of history first, then two hours
START = T0 + DAY_MS
END = START + 2 * HOUR_MS


def fill(db: Database, days: int = 2, symbol: str = SYM, seed: int = 5) -> None:
    """Store ``days`` of synthetic 1m candles from T0 and their roll-ups."""
    store = CandleStore(db)
    df = validate_candles(synthetic_candles(days * 1440, "1m", start_ms=T0, seed=seed), "1m").valid
    with db.transaction() as con:
        store.write_in(con, symbol, "1m", df, source="synthetic", provenance=CandleSource.FILE)
        rollup_range(store, con, symbol, "1m", T0, T0 + days * DAY_MS - 1)


@pytest.fixture
def market(db: Database) -> Database:
    """Return the test database filled with two days of synthetic ETH/USDT."""
    fill(db)
    return db


def small_config(
    session_id: str, model: str = "cnn", mode: str = "none", **kw: object
) -> SessionConfig:
    """Return a session on 1m+1h with short windows (fast on 2 CPUs)."""
    extra: dict[str, object] = {"flush_every": 50, "synchronous_training": True}
    extra.update(kw)
    return SessionConfig(
        session_id=session_id,
        model=model,
        model_config={"timeframes": ["1m", "1h"], "windows": {"1m": 20, "1h": 6}, "seed": 1},
        symbols=(SYM,),
        mode=mode,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
def ckpt_dir(tmp_path: Path) -> str:
    """Return a checkpoint directory for the test."""
    return str(tmp_path / "ckpt")

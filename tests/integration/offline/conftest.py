"""A real database of seeded synthetic candles for offline training tests, and its facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ghostcandle.domain.candle_sources import CandleSource
from ghostcandle.domain.synthetic import synthetic_candles
from ghostcandle.domain.timeframes import DAY_MS, HOUR_MS
from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database
from ghostcandle.store.rollups import rollup_range

SYMBOL = "ETH/USDT"
T0 = 1_722_000_000_000 - 1_722_000_000_000 % DAY_MS
DAYS = 2
#: small models, so a fit takes seconds
SMALL: dict[str, dict[str, object]] = {
    "transformer": {"windows": {"1m": 30, "1h": 4}, "d_model": 16, "layers": 1, "heads": 2},
    "cnn": {"windows": {"1m": 30, "1h": 4}, "channels": 8, "layers": 2, "hidden": 16},
}
#: the training range: from the fifth hour (whole 1h windows) to the end of the candles
START, END = T0 + 5 * HOUR_MS, T0 + DAYS * DAY_MS


def seed_candles(path: Path, days: int = DAYS) -> Path:
    """Store ``days`` of seeded 1m candles and their 1h/1d roll-ups in a new database file."""
    with Database(path) as db:
        store = CandleStore(db)
        df = synthetic_candles(days * 1440, "1m", start_ms=T0, seed=3)
        with db.transaction() as con:
            store.write_in(con, SYMBOL, "1m", df, source="synthetic", provenance=CandleSource.FILE)
            rollup_range(store, con, SYMBOL, "1m", T0, T0 + days * DAY_MS - 1)
    return path


@dataclass(frozen=True)
class OfflineData:
    """What the offline tests need to know about the seeded database."""

    path: Path
    symbol: str = SYMBOL
    start: int = START
    end: int = END
    small: dict[str, dict[str, object]] = field(default_factory=lambda: SMALL)


@pytest.fixture
def offline(tmp_path: Path) -> OfflineData:
    """Return a database file holding two days of synthetic ETH/USDT candles, and its facts."""
    return OfflineData(seed_candles(tmp_path / "offline.duckdb"))

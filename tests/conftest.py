"""Shared fixtures: a real DuckDB file per test, and the real market data in ../shared/data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ghostcandle.store.candles import CandleStore
from ghostcandle.store.db import Database

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """Open a fresh database file (migrated) and close it after the test."""
    database = Database(tmp_path / "test.duckdb")
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> CandleStore:
    """Return a candle store on the fresh database."""
    return CandleStore(db)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return ../shared/data (real Binance data); skip where it is absent (not in CI)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def eth_1m_2024(shared_data: Path) -> Path:
    """Return the real ETH/USDT 1m file of 2024-07-26..08-25 (43,208 rows, no gaps)."""
    return shared_data / "binance_ETHUSDT_1m_2024-07-26_2024-08-25.csv.gz"

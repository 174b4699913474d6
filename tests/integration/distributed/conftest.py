"""Real data slices in a real database, and one local Ray (2 CPUs) for the package's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ghostcandle.cli.main import main

#: 2024-07-26T14:16Z: the first candle of the real 2024 1m files
FIRST = 1_722_003_360_000


def slice_csv(source: Path, target: Path, rows: int) -> Path:
    """Write the first ``rows`` candles of a real file as a file ``ingest`` reads."""
    pd.read_csv(source, nrows=rows).to_csv(target, index=False)
    return target


def ingest_real(shared_data: Path, tmp: Path, rows: int) -> Path:
    """Return a database holding the first ``rows`` real 1m candles of BTC/USDT and ETH/USDT."""
    db = tmp / "real.duckdb"
    for base in ("BTC", "ETH"):
        source = shared_data / f"binance_{base}USDT_1m_2024-07-26_2024-08-25.csv.gz"
        part = slice_csv(source, tmp / f"binance_{base}USDT_1m_slice.csv", rows)
        assert main(["ingest", "--db", str(db), "--no-rollup", str(part)]) == 0
    return db


@pytest.fixture(scope="package")
def local_ray() -> Iterator[Any]:
    """Start one local Ray with 2 CPUs for these tests (commands reuse it), then stop it."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
